// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick
import QStateSync

// Keeps a text control (TextField, TextArea) and one string key of the shared state in
// step, without fighting the person typing:
// - Local edits are sent as they happen, at most one update per sendInterval; the whole
//   text is the value of the key, so the update replaces the key's value.
// - While the person types, updates from others to this key wait: the control keeps what
//   is being typed. The control is "holding" from the first keystroke until the person
//   paused for holdInterval (or left the control) and the server acknowledged the last
//   text sent.
// - When it stops holding, and whenever the key changes while it does not hold, the
//   control shows the shared value. If someone else's text was applied after the last one
//   sent from here, that is what every window now shows: the last write wins.
//! [synced-text]
QtObject {
    id: synced

    required property StateSyncClient client
    required property string key
    // A TextField or a TextArea: they share text, cursorPosition and length, not a type.
    required property var editor
    property int sendInterval: 250
    property int holdInterval: 1200

    readonly property string sharedValue: typeof client.state[key] === "string"
                                          ? client.state[key] : ""
    property bool holding: false

    // A local edit happened (keystroke, paste, the autoplay typing).
    signal edited()

    // What this control sent last, and the request still waiting for its echo (-1: none).
    property string lastSent
    property real pendingRequest: -1
    // Set while the control's text is replaced by the shared value, which is not an edit.
    property bool adopting: false

    // Call from the control's onTextChanged.
    function noteTextChanged() {
        if (adopting)
            return
        holding = true
        if (!sendTimer.running)
            sendTimer.start()
        idleTimer.restart()
        edited()
    }

    // Call when the control loses focus: no reason to hold any longer.
    function release() {
        idleTimer.stop()
        flush()
        settle()
    }

    function flush() {
        sendTimer.stop()
        if (editor.text === lastSent)
            return
        const requestId = client.updateState({ [key]: editor.text })
        if (requestId >= 0) {
            lastSent = editor.text
            pendingRequest = requestId
        }
    }

    function settle() {
        // Offline, the text stays as typed; it is sent when the client joins again.
        if (idleTimer.running || pendingRequest >= 0 || client.status !== StateSyncClient.Joined)
            return
        holding = false
        adopt()
    }

    function adopt() {
        lastSent = sharedValue
        if (editor.text === sharedValue)
            return
        const cursor = editor.cursorPosition
        adopting = true
        editor.text = sharedValue
        adopting = false
        editor.cursorPosition = Math.min(cursor, editor.length)
    }

    onSharedValueChanged: {
        if (!holding)
            adopt()
    }

    readonly property Timer sendTimer: Timer {
        interval: synced.sendInterval
        onTriggered: synced.flush()
    }
    readonly property Timer idleTimer: Timer {
        interval: synced.holdInterval
        onTriggered: {
            synced.flush()
            synced.settle()
        }
    }
    readonly property Connections acknowledgements: Connections {
        target: synced.client
        function onUpdateAcknowledged(requestId, version) {
            if (requestId !== synced.pendingRequest)
                return
            synced.pendingRequest = -1
            synced.settle()
        }
        function onUpdateFailed(requestId, error, message) {
            if (requestId !== synced.pendingRequest)
                return
            synced.pendingRequest = -1
            synced.settle()
        }
        function onJoined() {
            synced.pendingRequest = -1
            if (synced.holding) {
                synced.flush()
                synced.settle()
            }
        }
    }
}
//! [synced-text]
