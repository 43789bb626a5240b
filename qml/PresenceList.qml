// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

import QtQuick
import QStateSync

// Who is joined to the state of a StateSyncClient: one line each, with the name the
// server published (information[nameKey], else the client identifier), "(you)" for the
// client itself, and what presence data says (typingKey true shows "typing…").
ListView {
    id: root

    property StateSyncClient client
    property string nameKey: "name"
    property string typingKey: "typing"
    property color textColor: "black"

    model: client ? client.presence : null
    implicitWidth: 180
    implicitHeight: contentHeight
    interactive: contentHeight > height
    spacing: 2

    function displayName(information, clientIdentifier) {
        const name = information ? information[nameKey] : undefined
        return name !== undefined && name !== "" ? String(name) : clientIdentifier
    }

    delegate: Row {
        required property string clientIdentifier
        required property var information
        required property var presenceData
        required property bool isSelf

        spacing: 6
        Rectangle {
            anchors.verticalCenter: parent.verticalCenter
            width: 8
            height: 8
            radius: 4
            color: isSelf ? "#1565c0" : "#2e7d32"
        }
        Text {
            // Long names end in an ellipsis instead of leaving the list.
            width: Math.max(0, root.width - 14)
            elide: Text.ElideRight
            color: root.textColor
            text: root.displayName(information, clientIdentifier)
                  + (isSelf ? qsTr(" (you)") : "")
                  + (presenceData && presenceData[root.typingKey] ? qsTr(" typing…") : "")
        }
    }
}
