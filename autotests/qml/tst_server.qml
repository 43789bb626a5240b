// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// A whole server in QML: declared states with JavaScript callbacks, and the hooks as
// signal handlers that refuse, modify and answer later.
Item {
    id: root

    property var deferredUpdates: []

    StateSyncer {
        id: server
        host: "127.0.0.1"
        running: true
        // The limits that StateSyncer does not repeat are the wrapped QStateSyncer's.
        syncer.maxStateSize: 4 * 1024 // an expression: Qt 6.4 takes no literal for a qint64
        syncer.heartbeatInterval: 0

        StateSyncState {
            id: board
            identifier: "board"
            initialValue: ({ notes: [], title: "Board" })
            // The original's interceptor, in JavaScript: refuse, or modify.
            interceptStateUpdate: function(updates, clientInformation) {
                if (updates.title === "")
                    return null
                if (updates.title !== undefined)
                    updates.title = updates.title.trim()
                return updates
            }
            interceptStateAppend: function(appends, clientInformation) {
                for (const note of appends.notes)
                    note.author = clientInformation.name
                return appends
            }
        }
        StateSyncState {
            identifier: "members-only"
            allowConnectingClient: (clientInformation) => clientInformation.member === true
        }
        StateSyncState {
            id: ephemeral
            identifier: "ephemeral"
            selfDestructWhenEmpty: true
        }
        StateSyncState {
            id: slow
            identifier: "slow"
            mergeMode: StateSync.Shallow
        }

        onAuthorizationRequested: (request) => {
            if (request.token === "bad") {
                request.reject("Bad token")
                return
            }
            request.accept({ name: request.clientIdentifier, member: request.token === "member" })
        }
        onUpdateRequested: (request) => {
            if (request.stateIdentifier === "slow") {
                // Answer later, as a handler that asks a database would.
                request.defer()
                root.deferredUpdates.push(request)
                return
            }
            if (request.updates.locked !== undefined) {
                request.reject("locked is read-only")
                return
            }
            if (request.kind === StateSyncUpdateRequest.Update && request.updates.title !== undefined) {
                const updates = request.updates
                updates.editedBy = request.clientIdentifier
                request.updates = updates
            }
        }
        onHttpRequested: (request) => {
            if (request.path === "/healthz")
                request.respond(200, "ok")
        }
    }

    Component {
        id: clientComponent
        StateSyncClient {
            url: server.url
            active: true
        }
    }
    Component {
        id: spyComponent
        SignalSpy {}
    }

    TestCase {
        name: "StateSyncer"

        function joinedClient(identifier, state, token) {
            const client = createTemporaryObject(clientComponent, root, {
                clientIdentifier: identifier, accessToken: token || "", stateIdentifier: state })
            tryCompare(client, "status", StateSyncClient.Joined)
            return client
        }

        function initTestCase() {
            tryCompare(server, "listening", true)
            verify(server.serverPort > 0)
            compare(String(server.url), "ws://127.0.0.1:" + server.serverPort)
            compare(server.stateIdentifiers.length, 4)
            verify(board.created)
        }

        function test_hookModifiesAnUpdate() {
            const client = joinedClient("alice", "board")
            client.updateState({ title: "  Friday  " })
            tryVerify(() => server.valueOfState("board").title === "Friday")
            compare(server.valueOfState("board").editedBy, "alice")
            tryCompare(client.state, "title", "Friday")
            compare(board.value.title, "Friday")
            verify(board.version > 0)
        }

        function test_hooksRefuse() {
            const client = joinedClient("bob", "board")
            const failures = createTemporaryObject(spyComponent, root,
                                                   { target: client, signalName: "updateFailed" })
            client.updateState({ locked: true })
            failures.wait()
            compare(failures.signalArguments[0][1], StateSync.UpdateRefused)
            compare(failures.signalArguments[0][2], "locked is read-only")
            client.updateState({ title: "" })
            failures.wait()
            compare(failures.count, 2)
            verify(server.valueOfState("board").locked === undefined)
        }

        function test_limitsAreSetThroughSyncer() {
            compare(server.syncer.maxStateSize, 4096)
            compare(server.syncer.heartbeatInterval, 0)
            const client = joinedClient("ivan", "board")
            const failures = createTemporaryObject(spyComponent, root,
                                                   { target: client, signalName: "updateFailed" })
            client.updateState({ huge: "x".repeat(5000) })
            failures.wait()
            compare(failures.signalArguments[0][1], StateSync.StateTooLarge)
            verify(server.valueOfState("board").huge === undefined)
        }

        function test_appendInterceptorStampsItems() {
            const client = joinedClient("carol", "board")
            client.append("notes", { text: "remember" })
            tryVerify(() => server.valueOfState("board").notes.length > 0)
            const notes = server.valueOfState("board").notes
            compare(notes[notes.length - 1].author, "carol")
        }

        function test_deferredUpdatesAreAnsweredLaterInOrder() {
            root.deferredUpdates = []
            const client = joinedClient("dave", "slow")
            client.updateState({ step: 1 })
            client.updateState({ step: 2 })
            tryCompare(root.deferredUpdates, "length", 1)
            compare(server.versionOfState("slow"), 0)
            root.deferredUpdates[0].accept()
            tryCompare(root.deferredUpdates, "length", 2)
            compare(server.valueOfState("slow").step, 1)
            root.deferredUpdates[1].accept()
            tryVerify(() => server.valueOfState("slow").step === 2)
            tryCompare(client.state, "step", 2)
        }

        function test_authorizationAndJoinRules() {
            const refused = createTemporaryObject(clientComponent, root,
                                                  { clientIdentifier: "eve", accessToken: "bad" })
            tryCompare(refused, "status", StateSyncClient.Error)
            compare(refused.error, StateSync.Unauthorized)

            const outsider = createTemporaryObject(clientComponent, root, {
                clientIdentifier: "frank", stateIdentifier: "members-only" })
            // Refused by allowConnectingClient: told no more than of a missing state.
            tryCompare(outsider, "error", StateSync.StateNotFound)
            joinedClient("grace", "members-only", "member")
            compare(server.clientsOfState("members-only"), ["grace"])
        }

        function test_selfDestructWhenEmpty() {
            const client = joinedClient("heidi", "ephemeral")
            verify(ephemeral.created)
            client.active = false
            tryCompare(ephemeral, "created", false)
            verify(!server.hasState("ephemeral"))
        }

        function test_stateDeclaredAtRunTimeLivesAsLongAsItsDeclaration() {
            const before = server.states.length
            const declared = Qt.createQmlObject(
                "import QStateSync; StateSyncState { identifier: 'declared-later';"
                + " initialValue: ({ fresh: true }) }", root)
            server.states.push(declared)
            compare(server.states.length, before + 1)
            verify(declared.created)
            const client = joinedClient("judy", "declared-later")
            compare(client.state.fresh, true)
            declared.destroy()
            tryCompare(server.states, "length", before)
            verify(!server.hasState("declared-later"))
            tryCompare(client, "status", StateSyncClient.Connected)
        }

        function test_statesCreatedAtRunTime() {
            const identifier = server.createState({ identifier: "runtime",
                                                    initialValue: { made: "later" },
                                                    mergeMode: StateSync.Shallow })
            compare(identifier, "runtime")
            compare(server.createState({ identifier: "runtime" }), "")
            const client = joinedClient("ivan", "runtime")
            compare(client.state.made, "later")
            verify(server.updateStateValue("runtime", { made: "by the server" }))
            tryCompare(client.state, "made", "by the server")
            verify(server.removeState("runtime"))
            tryCompare(client, "status", StateSyncClient.Connected)
        }
    }
}
