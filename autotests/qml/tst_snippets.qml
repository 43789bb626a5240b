// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// The documentation's QML snippets load and do what the text around them says.
Item {
    id: root

    TestCase {
        name: "Snippets"

        function test_serverAndClientSnippetsWorkTogether() {
            const serverComponent = Qt.createComponent(Qt.resolvedUrl("../../doc/snippets/server.qml"))
            compare(serverComponent.status, Component.Ready, serverComponent.errorString())
            const server = createTemporaryObject(serverComponent, root)
            tryCompare(server, "listening", true)

            const clientComponent = Qt.createComponent(Qt.resolvedUrl("../../doc/snippets/client.qml"))
            compare(clientComponent.status, Component.Ready, clientComponent.errorString())
            const view = createTemporaryObject(clientComponent, root, { serverUrl: server.url })
            const sync = view.data[0]
            tryCompare(sync, "status", StateSyncClient.Joined)
            view.send("hello")
            tryVerify(() => server.valueOfState("myGroupChat").chatMessages.length === 1)
            compare(server.valueOfState("myGroupChat").chatMessages[0].author, "alice")
            tryVerify(() => server.valueOfState("myGroupChat").topic === "Chatting")
            tryVerify(() => server.valueOfState("myGroupChat").settings !== undefined)
            compare(server.valueOfState("myGroupChat").settings.sound, false)
        }
    }
}
