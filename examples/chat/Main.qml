// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

pragma ComponentBehavior: Bound

import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QStateSync

// The seed's full example, a chat widget, in QML: the message list is bound to the
// shared state, sending appends one message, and presence says who is online and typing.
ApplicationWindow {
    id: root

    required property url serverUrl
    required property string clientIdentifier
    required property string stateIdentifier
    property string accessToken
    property list<string> autoplaySteps
    property string screenshotFile

    // An empty state (qstatesyncd --state) has no chatMessages until the first append.
    readonly property var messages: Array.isArray(sync.state.chatMessages) ? sync.state.chatMessages
                                                                          : []
    // Other people whose presence says they are typing, by name.
    property var typingNames: []
    property bool screenshotTaken: false

    function displayName(information, clientIdentifier) {
        return information && information.name ? String(information.name) : clientIdentifier
    }

    // The presence model changes row by row; the typing line and the screenshot need the
    // whole picture, so they are recomputed on every change of the model.
    function presenceChanged() {
        const names = []
        for (let row = 0; row < sync.presence.count; ++row) {
            const peer = sync.presence.get(row)
            if (!peer.isSelf && peer.presenceData && peer.presenceData.typing)
                names.push(displayName(peer.information, peer.clientIdentifier))
        }
        typingNames = names
        takeScreenshotWhenDone()
    }

    //! [send]
    function send() {
        const text = input.text.trim()
        if (text === "")
            return
        // One message is appended; the rest of the list is never sent, so messages that
        // others send at the same moment are all kept. A server that stamps authors (the
        // --serve one, the server example) overwrites author and sentAt.
        sync.append("chatMessages", { content: text, author: root.clientIdentifier,
                                      sentAt: new Date().toISOString() })
        input.clear()
        composer.recentlyEdited = false
    }
    //! [send]

    // A screenshot shows the end of a demo: this window and every other one in the room
    // (at least one) have played their steps, so both windows show the same conversation.
    function takeScreenshotWhenDone() {
        if (screenshotFile === "" || screenshotTaken || !autoplay.done)
            return
        let others = 0
        for (let row = 0; row < sync.presence.count; ++row) {
            const peer = sync.presence.get(row)
            if (peer.isSelf)
                continue
            if (!peer.presenceData || !peer.presenceData.autoplayDone)
                return
            ++others
        }
        if (others === 0)
            return
        screenshotTaken = true
        // After the bindings of this change have been applied and laid out.
        Qt.callLater(() => {
            contentItem.Window.contentItem.grabToImage((result) => {
                if (!result.saveToFile(root.screenshotFile)) {
                    console.warn("chat: cannot save", root.screenshotFile)
                    Qt.exit(1)
                    return
                }
                // The app quits when its last window closed: every window has its shot.
                root.close()
            })
        })
    }

    width: 540
    height: 380
    visible: true
    title: qsTr("%1 in %2").arg(clientIdentifier).arg(stateIdentifier)
    // An item rather than the window colour, so that screenshots include it.
    background: Rectangle {
        color: root.palette.window
    }

    header: ToolBar {
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 10
            anchors.rightMargin: 10
            Label {
                text: "#" + root.stateIdentifier
                font.bold: true
                font.pixelSize: 15
            }
            Label {
                Layout.fillWidth: true
                text: typeof sync.state.topic === "string" ? sync.state.topic : ""
                color: palette.placeholderText
                elide: Text.ElideRight
            }
            Label {
                text: qsTr("as %1").arg(root.clientIdentifier)
            }
            ConnectionIndicator {
                client: sync
            }
        }
    }

    //! [client]
    StateSyncClient {
        id: sync
        url: root.serverUrl
        clientIdentifier: root.clientIdentifier
        accessToken: root.accessToken
        stateIdentifier: root.stateIdentifier
        active: true
        // What the others see of this window besides its name. autoplayDone tells the
        // other windows of a demo that this one has played its script.
        presenceData: root.autoplaySteps.length > 0 || root.screenshotFile !== ""
                      ? { typing: composer.typing, autoplayDone: autoplay.done }
                      : { typing: composer.typing }
        onErrorOccurred: (error, message) => console.warn("chat:", message)
    }
    //! [client]

    Connections {
        target: sync.presence
        function onRowsInserted() { root.presenceChanged() }
        function onRowsRemoved() { root.presenceChanged() }
        function onDataChanged() { root.presenceChanged() }
        function onModelReset() { root.presenceChanged() }
    }

    RowLayout {
        anchors.fill: parent
        anchors.margins: 10
        spacing: 10

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true

            ListView {
                id: messageList
                Layout.fillWidth: true
                Layout.fillHeight: true
                clip: true
                spacing: 6
                model: root.messages
                delegate: MessageDelegate {
                    width: messageList.width
                    ownName: root.clientIdentifier
                }
                // The model is a new array after every change: keep the newest in view.
                onCountChanged: Qt.callLater(positionViewAtEnd)

                Label {
                    anchors.centerIn: parent
                    visible: messageList.count === 0
                    text: sync.status === StateSyncClient.Joined ? qsTr("No messages yet. Say hello!")
                                                                 : ""
                    color: palette.placeholderText
                }
            }

            Label {
                Layout.fillWidth: true
                text: root.typingNames.length === 0 ? " "
                      : root.typingNames.length === 1 ? qsTr("%1 is typing…").arg(root.typingNames[0])
                      : qsTr("%1 are typing…").arg(root.typingNames.join(", "))
                font.italic: true
                color: palette.placeholderText
            }

            RowLayout {
                id: composer

                // Typing: a draft that was edited in the last few seconds.
                property bool recentlyEdited: false
                readonly property bool typing: recentlyEdited && input.text.length > 0

                function noteEdit() {
                    recentlyEdited = true
                    typingTimeout.restart()
                }

                Layout.fillWidth: true

                TextField {
                    id: input
                    Layout.fillWidth: true
                    placeholderText: qsTr("Message")
                    focus: true
                    onTextEdited: composer.noteEdit()
                    onAccepted: root.send()
                }
                Button {
                    text: qsTr("Send")
                    enabled: sync.status === StateSyncClient.Joined && input.text.trim() !== ""
                    onClicked: root.send()
                }

                Timer {
                    id: typingTimeout
                    interval: 4000
                    onTriggered: composer.recentlyEdited = false
                }
            }
        }

        Frame {
            Layout.preferredWidth: 150
            Layout.fillHeight: true

            ColumnLayout {
                anchors.fill: parent

                Label {
                    text: qsTr("Online (%1)").arg(sync.presence.count)
                    font.bold: true
                }
                //! [presence]
                PresenceList {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    client: sync
                    textColor: palette.text
                    clip: true
                }
                //! [presence]
            }
        }
    }

    // The demo steps of --autoplay: say:TEXT, type:TEXT, wait:N.
    Autoplay {
        id: autoplay
        steps: root.autoplaySteps
        ready: sync.status === StateSyncClient.Joined
        onDoneChanged: root.takeScreenshotWhenDone()
        onPerform: (command, argument, tick) => {
            switch (command) {
            case "say":
            case "type":
                if (tick < argument.length) {
                    input.insert(input.cursorPosition, argument.charAt(tick))
                    composer.noteEdit()
                    return
                }
                if (command === "say")
                    root.send()
                break
            case "wait":
                if (root.messages.length < Number(argument))
                    return
                break
            default:
                console.warn("chat: unknown autoplay step", command)
            }
            autoplay.next()
        }
    }

}
