// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// Two StateSyncers sharing their states through the test's Redis server
// (StateSyncRedisStorage): a change made through one reaches the clients of the other.
Item {
    id: root

    Component {
        id: node
        StateSyncer {
            property string name
            host: "127.0.0.1"
            running: true
            storage: StateSyncRedisStorage {
                port: testRedisPort
                keyPrefix: "qml-cluster:"
                nodeIdentifier: name
            }
            StateSyncState {
                identifier: "board"
                initialValue: ({ notes: [] })
            }
        }
    }

    Component {
        id: client
        StateSyncClient {
            stateIdentifier: "board"
        }
    }

    TestCase {
        name: "StateSyncerCluster"

        function test_aChangeThroughOneNodeReachesTheOther() {
            verify(testRedisPort > 0)
            const a = createTemporaryObject(node, root, { name: "qml-a" })
            const b = createTemporaryObject(node, root, { name: "qml-b" })
            verify(a.storage.attached)
            verify(b.storage.attached)
            tryVerify(() => a.storage.connected && b.storage.connected)
            tryVerify(() => a.listening && b.listening)
            const writer = createTemporaryObject(client, root,
                                                 { url: a.url, clientIdentifier: "writer" })
            const reader = createTemporaryObject(client, root,
                                                 { url: b.url, clientIdentifier: "reader" })
            writer.active = true
            reader.active = true
            tryCompare(writer, "status", StateSyncClient.Joined)
            tryCompare(reader, "status", StateSyncClient.Joined)
            writer.append("notes", "hello")
            tryCompare(reader, "version", 1)
            compare(reader.value().notes, ["hello"])
            // The other way round, through node b.
            reader.append("notes", "back")
            tryCompare(writer, "version", 2)
            compare(writer.value().notes, ["hello", "back"])
            compare(b.valueOfState("board").notes, ["hello", "back"])
        }
    }
}
