// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

// Quoted by the documentation; the QML tests load it, so it stays true.

import QtQuick
import QStateSync

Item {
    property url serverUrl: "ws://127.0.0.1:5000"

    //! [client]
    StateSyncClient {
        id: sync
        url: serverUrl
        clientIdentifier: "alice"
        accessToken: "let-me-in"
        stateIdentifier: "myGroupChat"
        active: true
        onErrorOccurred: (error, message) => console.warn("sync:", message)
    }

    Text {
        // Follows the shared state: every client's change shows here.
        text: sync.state.topic !== undefined ? sync.state.topic : "No topic"
    }
    ListView {
        model: sync.state.chatMessages
        delegate: Text { required property var modelData; text: modelData.content }
    }
    function send(text) {
        sync.append("chatMessages", { content: text })   // kept even when others send too
        sync.state.topic = "Chatting"                     // a top-level write sends an update
        sync.setValueAt(["settings", "sound"], false)     // nested values: setValueAt()
    }
    //! [client]
}
