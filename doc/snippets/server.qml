// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

// Quoted by the documentation; the QML tests load it, so it stays true.

import QtQml
import QStateSync

//! [server]
StateSyncer {
    id: server
    port: 0 // a free port; set 5000 for a fixed one
    host: "127.0.0.1"
    running: true

    //! [state]
    StateSyncState {
        identifier: "myGroupChat"
        initialValue: ({ chatMessages: [] })
        ttl: 60 * 60 * 1000
        selfDestructWhenEmpty: true
        allowConnectingClient: (clientInformation) => clientInformation.member === true
        interceptStateAppend: function(appends, clientInformation) {
            for (const message of appends.chatMessages)
                message.author = clientInformation.name
            return appends
        }
    }
    //! [state]

    onAuthorizationRequested: (request) => {
        if (request.token !== "let-me-in") {
            request.reject()                    // HTTP 401
            return
        }
        request.publicInformation = { name: request.clientIdentifier }
        request.accept({ name: request.clientIdentifier, member: true })
    }
    onUpdateRequested: (request) => {
        if (request.updates.topic !== undefined && request.updates.topic.length > 80)
            request.reject("The topic is too long")
    }
}
//! [server]
