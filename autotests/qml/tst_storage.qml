// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// A StateSyncer with an SQLite storage: its declared states come back with their values
// when the server is declared again, and a storage set too late is refused.
Item {
    id: root

    Component {
        id: serverWithStorage
        StateSyncer {
            host: "127.0.0.1"
            running: true
            storage: StateSyncSqliteStorage {
                fileName: testDataFolder + "/qml-states.sqlite"
                durability: StateSyncSqliteStorage.Durable
            }
            StateSyncState {
                identifier: "notes"
                initialValue: ({ count: 0 })
            }
        }
    }

    Component {
        id: lateStorage
        StateSyncSqliteStorage { fileName: testDataFolder + "/late.sqlite" }
    }

    TestCase {
        name: "StateSyncerStorage"

        function test_statesComeBackWhenDeclaredAgain() {
            let server = createTemporaryObject(serverWithStorage, root)
            verify(server.storage.attached)
            compare(server.versionOfState("notes"), 0)
            verify(server.updateStateValue("notes", { count: 1, text: "kept" }))
            // Durable: shown once stored.
            compare(server.valueOfState("notes").count, 0)
            tryVerify(() => server.valueOfState("notes").count === 1)
            // Detached at once (written, file unlocked), then gone whenever QML deletes it.
            const storage = server.storage
            server.storage = null
            verify(!storage.attached)
            server.destroy()
            server = createTemporaryObject(serverWithStorage, root)
            compare(server.valueOfState("notes").text, "kept")
            compare(server.versionOfState("notes"), 1)
            compare(server.errorString, "")
        }

        function test_storageAfterTheStatesIsRefused() {
            const server = createTemporaryObject(serverWithStorage, root)
            const used = server.storage
            const storage = createTemporaryObject(lateStorage, root)
            ignoreWarning(/before the server has states/)
            server.storage = storage
            verify(server.errorString.indexOf("set it before") >= 0)
            verify(!storage.attached)
            // The property still names the storage the server uses.
            verify(server.storage === used)
            verify(used.attached)
        }
    }
}
