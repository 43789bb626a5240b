// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQml
import QStateSync

// The server of the seed's full example, declared in QML: one room with an empty message
// list. Run with --serve; host and port come from the command line.
//! [server]
StateSyncer {
    id: server

    property string room: "myGroupChat"

    running: true

    StateSyncState {
        identifier: server.room
        initialValue: ({ chatMessages: [] })
        // Messages are only ever appended; a client that sends the whole list (as the
        // seed's React widget does) would drop messages others sent meanwhile.
        interceptStateUpdate: function(updates, clientInformation) {
            return updates.chatMessages === undefined ? updates : null
        }
        // The server, not the client, says who wrote a message and when.
        interceptStateAppend: function(appends, clientInformation) {
            if (Object.keys(appends).length !== 1 || appends.chatMessages === undefined)
                return null
            for (const message of appends.chatMessages) {
                if (typeof message.content !== "string" || message.content.trim() === "")
                    return null
                message.content = message.content.trim()
                message.author = clientInformation.name
                message.sentAt = new Date().toISOString()
            }
            return appends
        }
    }

    // Everyone may join; the name others see is the client identifier.
    onAuthorizationRequested: (request) => {
        request.publicInformation = { name: request.clientIdentifier }
        request.accept({ name: request.clientIdentifier })
    }
}
//! [server]
