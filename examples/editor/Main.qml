// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

pragma ComponentBehavior: Bound

import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QStateSync

// One editor window: its own StateSyncClient on the shared document
//   { title: "…", body: "…", checklist: { <id>: { text, done, position } } }
// and, through presence, who edits which part of it.
ApplicationWindow {
    id: root

    required property url serverUrl
    required property string clientIdentifier
    required property string stateIdentifier
    property string accessToken
    property list<string> autoplaySteps
    property string screenshotFile

    // The part of the document this window edits: "title", "body", "checklist" or "".
    // It stays while the window is in the background: the cursor is still there.
    property string editing
    // A keystroke in the last few seconds.
    property bool typing: false
    // Everyone joined: [{ name, color, editing, typing, isSelf, autoplayDone }].
    property var peers: []
    property bool screenshotTaken: false
    property int itemsAdded: 0

    // Items sorted by when they were added; entries without text are not items (see
    // Server.qml: a toggle that raced a removal).
    readonly property var checklistItems: {
        const checklist = sync.state.checklist
        if (!checklist || typeof checklist !== "object" || Array.isArray(checklist))
            return []
        return Object.keys(checklist)
            .filter((id) => checklist[id] && typeof checklist[id].text === "string")
            .map((id) => ({ id: id, text: checklist[id].text, done: checklist[id].done === true,
                            position: Number(checklist[id].position) || 0 }))
            .sort((a, b) => a.position - b.position || a.id.localeCompare(b.id))
    }
    readonly property int doneCount: checklistItems.filter((item) => item.done).length

    // The same name gets the same colour in every window.
    function colorOf(name) {
        let hash = 0
        for (let i = 0; i < name.length; ++i)
            hash = (hash * 31 + name.charCodeAt(i)) % 360
        return Qt.hsla(hash / 360, 0.6, 0.4, 1)
    }

    // The presence model changes row by row; the badges need the whole picture.
    function refreshPeers() {
        const list = []
        for (let row = 0; row < sync.presence.count; ++row) {
            const peer = sync.presence.get(row)
            const data = peer.presenceData || {}
            const name = peer.information && peer.information.name ? String(peer.information.name)
                                                                    : peer.clientIdentifier
            list.push({ name: name, color: colorOf(name), editing: data.editing || "",
                        typing: data.typing === true, isSelf: peer.isSelf,
                        autoplayDone: data.autoplayDone === true })
        }
        peers = list
        takeScreenshotWhenDone()
    }

    function editorsOf(part) {
        return peers.filter((peer) => !peer.isSelf && peer.editing === part)
    }

    function noteTyping() {
        typing = true
        typingTimeout.restart()
    }

    //! [checklist]
    function addItem(text) {
        if (text.trim() === "")
            return
        // A key nobody else picks: time, name, a counter and a random part.
        const id = "%1-%2-%3%4".arg(Date.now().toString(36)).arg(clientIdentifier).arg(++itemsAdded)
                               .arg(Math.random().toString(36).slice(2, 6))
        sync.setValueAt(["checklist", id], { text: text.trim(), done: false, position: Date.now() })
    }
    function setItemDone(id, done) {
        // Sends {checklist: {<id>: {done: …}}}: the other items are not part of the change.
        sync.setValueAt(["checklist", id, "done"], done)
    }
    function removeItem(id) {
        // null deletes the key (JSON Merge Patch).
        sync.setValueAt(["checklist", id], null)
    }
    //! [checklist]

    function itemByText(text) {
        return checklistItems.find((item) => item.text === text)
    }

    function documentContains(text) {
        return titleSync.sharedValue.indexOf(text) >= 0 || bodySync.sharedValue.indexOf(text) >= 0
               || checklistItems.some((item) => item.text.indexOf(text) >= 0)
    }

    // A screenshot shows the end of a demo: this window and every other one on the
    // document (at least one) have played their steps.
    function takeScreenshotWhenDone() {
        if (screenshotFile === "" || screenshotTaken || !autoplay.done)
            return
        const others = peers.filter((peer) => !peer.isSelf)
        if (others.length === 0 || others.some((peer) => !peer.autoplayDone))
            return
        screenshotTaken = true
        // After the bindings of this change have been applied and laid out.
        Qt.callLater(() => {
            contentItem.Window.contentItem.grabToImage((result) => {
                if (!result.saveToFile(root.screenshotFile)) {
                    console.warn("editor: cannot save", root.screenshotFile)
                    Qt.exit(1)
                    return
                }
                // The app quits when its last window closed: every window has its shot.
                root.close()
            })
        })
    }

    width: 640
    height: 520
    visible: true
    title: qsTr("%1 — %2").arg(titleField.text || qsTr("Untitled")).arg(clientIdentifier)
    // An item rather than the window colour, so that screenshots include it.
    background: Rectangle {
        color: root.palette.window
    }

    // Which part holds the keyboard focus; a window in the background has none and keeps
    // what it had.
    onActiveFocusItemChanged: {
        if (!activeFocusItem)
            return
        for (let item = activeFocusItem; item; item = item.parent) {
            if (item === titleField) {
                editing = "title"
                return
            }
            if (item === bodyArea) {
                editing = "body"
                return
            }
            if (item === checklistSection) {
                editing = "checklist"
                return
            }
        }
        editing = ""
    }

    header: ToolBar {
        RowLayout {
            anchors.fill: parent
            anchors.leftMargin: 10
            anchors.rightMargin: 10
            Label {
                text: qsTr("Document “%1”").arg(root.stateIdentifier)
                font.bold: true
            }
            Item {
                Layout.fillWidth: true
            }
            Rectangle {
                width: 10
                height: 10
                radius: 5
                color: root.colorOf(root.clientIdentifier)
            }
            Label {
                text: qsTr("you are %1").arg(root.clientIdentifier)
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
        // What the others see: which part this window edits, and whether it types.
        presenceData: root.autoplaySteps.length > 0 || root.screenshotFile !== ""
                      ? { editing: root.editing, typing: root.typing, autoplayDone: autoplay.done }
                      : { editing: root.editing, typing: root.typing }
        onErrorOccurred: (error, message) => console.warn("editor:", message)
    }
    //! [client]

    Connections {
        target: sync.presence
        function onRowsInserted() { root.refreshPeers() }
        function onRowsRemoved() { root.refreshPeers() }
        function onDataChanged() { root.refreshPeers() }
        function onModelReset() { root.refreshPeers() }
    }

    Timer {
        id: typingTimeout
        interval: 3000
        onTriggered: root.typing = false
    }

    RowLayout {
        anchors.fill: parent
        anchors.margins: 12
        spacing: 12

        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: 6

            RowLayout {
                Label {
                    text: qsTr("Title")
                    font.bold: true
                }
                EditorsBadge {
                    id: titleEditors
                    editors: root.editorsOf("title")
                }
            }
            TextField {
                id: titleField
                Layout.fillWidth: true
                placeholderText: qsTr("Untitled")
                font.pixelSize: 17
                onTextChanged: titleSync.noteTextChanged()
                onActiveFocusChanged: {
                    if (!activeFocus)
                        titleSync.release()
                }

                // Framed in the colour of whoever else edits it.
                Rectangle {
                    anchors.fill: parent
                    anchors.margins: -2
                    radius: 3
                    color: "transparent"
                    border.width: 2
                    border.color: titleEditors.color
                    visible: titleEditors.editors.length > 0
                }
            }
            SyncedText {
                id: titleSync
                client: sync
                key: "title"
                editor: titleField
                onEdited: root.noteTyping()
            }

            RowLayout {
                Layout.topMargin: 6
                Label {
                    text: qsTr("Body")
                    font.bold: true
                }
                EditorsBadge {
                    id: bodyEditors
                    editors: root.editorsOf("body")
                }
            }
            ScrollView {
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.minimumHeight: 100
                // Framed in the colour of whoever else edits it.
                background: Rectangle {
                    color: root.palette.base
                    radius: 2
                    border.width: bodyEditors.editors.length > 0 ? 2 : 1
                    border.color: bodyEditors.editors.length > 0 ? bodyEditors.color
                                                                 : root.palette.mid
                }
                TextArea {
                    id: bodyArea
                    wrapMode: TextEdit.Wrap
                    placeholderText: qsTr("Write here…")
                    onTextChanged: bodySync.noteTextChanged()
                    onActiveFocusChanged: {
                        if (!activeFocus)
                            bodySync.release()
                    }
                }
            }
            SyncedText {
                id: bodySync
                client: sync
                key: "body"
                editor: bodyArea
                onEdited: root.noteTyping()
            }

            ColumnLayout {
                id: checklistSection
                Layout.topMargin: 6
                Layout.fillWidth: true
                spacing: 2

                RowLayout {
                    Label {
                        text: root.checklistItems.length === 0
                              ? qsTr("Checklist")
                              : qsTr("Checklist (%1 of %2 done)").arg(root.doneCount)
                                                                 .arg(root.checklistItems.length)
                        font.bold: true
                    }
                    EditorsBadge {
                        editors: root.editorsOf("checklist")
                    }
                }
                Repeater {
                    model: root.checklistItems
                    delegate: ChecklistDelegate {
                        Layout.fillWidth: true
                        onToggleRequested: (done) => root.setItemDone(modelData.id, done)
                        onRemoveRequested: root.removeItem(modelData.id)
                    }
                }
                RowLayout {
                    Layout.fillWidth: true
                    TextField {
                        id: newItemField
                        Layout.fillWidth: true
                        placeholderText: qsTr("Add an item")
                        onTextEdited: root.noteTyping()
                        onAccepted: {
                            root.addItem(text)
                            clear()
                        }
                    }
                    Button {
                        text: qsTr("Add")
                        enabled: sync.status === StateSyncClient.Joined
                                 && newItemField.text.trim() !== ""
                        onClicked: {
                            root.addItem(newItemField.text)
                            newItemField.clear()
                        }
                    }
                }
            }
        }

        Frame {
            Layout.preferredWidth: 170
            Layout.fillHeight: true

            ColumnLayout {
                anchors.fill: parent
                Label {
                    text: qsTr("Here now (%1)").arg(sync.presence.count)
                    font.bold: true
                }
                PresenceList {
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    client: sync
                    textColor: palette.text
                    clip: true
                }
            }
        }
    }

    // The demo steps of --autoplay; see main.cpp for the list.
    Autoplay {
        id: autoplay
        steps: root.autoplaySteps
        ready: sync.status === StateSyncClient.Joined
        onDoneChanged: root.takeScreenshotWhenDone()
        onPerform: (command, argument, tick) => {
            const text = argument.replace(/\\n/g, "\n")
            // A person types into the window they are looking at: make it the active one.
            const typeInto = (editor) => {
                if (tick === 0) {
                    root.requestActivate()
                    editor.forceActiveFocus()
                }
                if (tick >= text.length)
                    return true
                editor.insert(editor.cursorPosition, text.charAt(tick))
                if (editor === newItemField)
                    root.noteTyping()
                return false
            }
            switch (command) {
            case "title":
                if (tick === 0)
                    titleField.clear()
                if (!typeInto(titleField))
                    return
                break
            case "body":
                if (tick === 0)
                    bodyArea.cursorPosition = bodyArea.length
                if (!typeInto(bodyArea))
                    return
                break
            case "add":
            case "draft":
                if (!typeInto(newItemField))
                    return
                if (command === "add")
                    newItemField.accepted()
                break
            case "toggle":
            case "remove": {
                const item = root.itemByText(text)
                if (!item)
                    return
                if (command === "toggle")
                    root.setItemDone(item.id, !item.done)
                else
                    root.removeItem(item.id)
                break
            }
            case "focus": {
                const target = ({ title: titleField, body: bodyArea, checklist: newItemField })[text]
                if (target) {
                    root.requestActivate()
                    target.forceActiveFocus()
                }
                break
            }
            case "wait":
                if (!root.documentContains(text))
                    return
                break
            default:
                console.warn("editor: unknown autoplay step", command)
            }
            autoplay.next()
        }
    }

}
