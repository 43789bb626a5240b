// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

import QtQuick
import QtTest
import QStateSync

// StateSyncClient as a QML app uses it: bindings on the state map, writes from QML,
// the methods, the signals, the shipped components. The server is QML too.
Item {
    id: root
    width: 400
    height: 300

    StateSyncer {
        id: server
        host: "127.0.0.1"
        running: true
        StateSyncState {
            identifier: "doc"
            initialValue: ({ title: "start", user: { name: "ada", age: 36 }, items: [] })
        }
        onJoinRequested: (request) => {
            request.publicInformation = { name: request.clientIdentifier.toUpperCase() }
        }
    }

    // Stopped and started again by the reconnection test.
    StateSyncer {
        id: restartable
        host: "127.0.0.1"
        running: true
        StateSyncState {
            identifier: "roaming"
            initialValue: ({ n: 0 })
        }
    }

    StateSyncClient {
        id: writer
        url: server.url
        clientIdentifier: "writer"
        stateIdentifier: "doc"
        active: server.listening
    }
    StateSyncClient {
        id: reader
        url: server.url
        clientIdentifier: "reader"
        stateIdentifier: "doc"
        active: server.listening
    }

    Text {
        id: title
        text: reader.state.title !== undefined ? reader.state.title : ""
    }
    ConnectionIndicator {
        id: indicator
        client: reader
    }
    PresenceList {
        id: presenceList
        client: reader
    }

    SignalSpy {
        id: readerUpdates
        target: reader
        signalName: "stateUpdated"
    }

    Component {
        id: indicatorComponent
        ConnectionIndicator { }
    }

    Component {
        id: clientComponent
        StateSyncClient {
            url: server.url
        }
    }

    TestCase {
        name: "StateSyncClient"
        when: windowShown

        function initTestCase() {
            tryCompare(writer, "status", StateSyncClient.Joined)
            tryCompare(reader, "status", StateSyncClient.Joined)
        }

        function test_bindingFollowsAnotherClientsChange() {
            writer.updateState({ title: "from the writer" })
            tryCompare(title, "text", "from the writer")
        }

        function test_writeToTheStateMapReachesTheOtherClient() {
            writer.state.title = "written in QML"
            // The writer's own copy changes only when the server's broadcast comes back.
            tryCompare(writer.state, "title", "written in QML")
            tryCompare(title, "text", "written in QML")
            compare(server.valueOfState("doc").title, "written in QML")
        }

        function test_nestedValuesAreSetWithSetValueAt() {
            writer.setValueAt(["user", "name"], "grace")
            // state.user is a copy of the value: read it afresh each time.
            tryVerify(() => reader.state.user.name === "grace")
            compare(reader.state.user.age, 36)
        }

        function test_appendAndPreviousValues() {
            readerUpdates.clear()
            writer.append("items", { text: "first" })
            readerUpdates.wait()
            const updates = readerUpdates.signalArguments[0][0]
            const previous = readerUpdates.signalArguments[0][1]
            compare(updates.items.length, previous.items.length + 1)
            compare(updates.items[updates.items.length - 1].text, "first")
        }

        function test_statusGoesThroughItsStages() {
            const client = createTemporaryObject(clientComponent, root,
                                                 { clientIdentifier: "late" })
            const statuses = []
            client.statusChanged.connect(() => statuses.push(client.status))
            client.stateIdentifier = "doc"
            client.active = true
            tryCompare(client, "status", StateSyncClient.Joined)
            compare(statuses, [StateSyncClient.Connecting, StateSyncClient.Connected,
                               StateSyncClient.Joining, StateSyncClient.Joined])
            client.active = false
            compare(client.status, StateSyncClient.Unconnected)
        }

        function test_errorsCarryTheirCode() {
            const client = createTemporaryObject(clientComponent, root,
                                                 { clientIdentifier: "lost" })
            const spy = createTemporaryObject(signalSpyComponent, root,
                                              { target: client, signalName: "errorOccurred" })
            client.stateIdentifier = "no-such-state"
            client.active = true
            spy.wait()
            compare(spy.signalArguments[0][0], StateSync.StateNotFound)
            compare(client.error, StateSync.StateNotFound)
            verify(client.errorString.length > 0)
            compare(client.status, StateSyncClient.Connected)
        }

        function test_reconnectsAndSendsWhatWaited() {
            const client = createTemporaryObject(clientComponent, root, {
                clientIdentifier: "roamer", url: restartable.url, reconnectDelay: 20,
                stateIdentifier: "roaming"
            })
            const roamingIndicator = createTemporaryObject(indicatorComponent, root,
                                                           { client: client })
            client.active = true
            tryCompare(client, "status", StateSyncClient.Joined)
            restartable.port = restartable.serverPort
            restartable.running = false
            tryCompare(client, "status", StateSyncClient.Reconnecting)
            verify(roamingIndicator.statusText.startsWith("Reconnecting"))
            // Shown at once, sent once the client is back.
            client.updateState({ n: 5 })
            compare(client.state.n, 5)
            compare(client.pendingUpdateCount, 1)
            compare(roamingIndicator.statusText, "Reconnecting… (1 change(s) waiting)")
            restartable.running = true
            tryCompare(client, "status", StateSyncClient.Joined)
            tryCompare(client, "pendingUpdateCount", 0)
            compare(restartable.valueOfState("roaming").n, 5)
            compare(client.serverValue().n, 5)
            verify(client.reconnectAttempt === 0)
        }

        function test_presenceIsAListModel() {
            tryCompare(reader.presence, "count", 2)
            const row = reader.presence.get(0).clientIdentifier === "writer" ? 0 : 1
            compare(reader.presence.get(row).information.name, "WRITER")
            compare(reader.presence.get(1 - row).isSelf, true)
            writer.presenceData = { typing: true }
            tryVerify(() => reader.presence.get(row).presenceData.typing === true)
            tryCompare(presenceList, "count", 2)
        }

        function test_connectionIndicatorShowsTheStatus() {
            compare(indicator.statusText, "Online")
            compare(String(indicator.statusColor), "#2e7d32")
        }
    }

    Component {
        id: signalSpyComponent
        SignalSpy {}
    }
}
