// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQml
import QStateSync

// The document's server, declared in QML. Run with --serve; host and port come from the
// command line.
//! [server]
StateSyncer {
    id: server

    property string documentIdentifier: "document"

    running: true

    StateSyncState {
        id: documentState
        identifier: server.documentIdentifier
        // The checklist is an object keyed by item id, not an array: adding, toggling or
        // removing one item is a merge patch of that item alone, so people changing
        // different items at the same moment do not overwrite each other.
        initialValue: ({ title: "", body: "", checklist: {} })
        // A toggle that arrives after someone removed the item would bring back a
        // fragment ({done: true} without text): drop such patches.
        interceptStateUpdate: function(updates, clientInformation) {
            const patch = updates.checklist
            if (patch === null || typeof patch !== "object" || Array.isArray(patch))
                return updates
            const current = documentState.value.checklist || {}
            for (const id of Object.keys(patch)) {
                const item = patch[id]
                if (item !== null && current[id] === undefined && typeof item.text !== "string")
                    delete patch[id]
            }
            return updates
        }
    }

    // Everyone may edit; the name others see is the client identifier.
    onAuthorizationRequested: (request) => {
        request.publicInformation = { name: request.clientIdentifier }
        request.accept({ name: request.clientIdentifier })
    }
}
//! [server]
