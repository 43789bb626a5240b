// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

import QtQuick
import QStateSync

// A dot and a word that say how a StateSyncClient stands: grey unconnected, amber on the
// way or reconnecting, green joined, red on error (the error's message is the tooltip text).
Row {
    id: root

    property StateSyncClient client
    readonly property string statusText: {
        if (!client)
            return qsTr("No client")
        switch (client.status) {
        case StateSyncClient.Unconnected: return qsTr("Offline")
        case StateSyncClient.Connecting: return qsTr("Connecting…")
        case StateSyncClient.Connected: return qsTr("Connected")
        case StateSyncClient.Joining: return qsTr("Joining…")
        case StateSyncClient.Joined: return qsTr("Online")
        case StateSyncClient.Reconnecting:
            return client.pendingUpdateCount > 0
                    ? qsTr("Reconnecting… (%n change(s) waiting)", "", client.pendingUpdateCount)
                    : qsTr("Reconnecting…")
        case StateSyncClient.Error: return qsTr("Error: %1").arg(client.errorString)
        }
        return ""
    }
    readonly property color statusColor: {
        if (!client)
            return "#9e9e9e"
        switch (client.status) {
        case StateSyncClient.Joined: return "#2e7d32"
        case StateSyncClient.Connecting:
        case StateSyncClient.Connected:
        case StateSyncClient.Joining:
        case StateSyncClient.Reconnecting: return "#f9a825"
        case StateSyncClient.Error: return "#c62828"
        }
        return "#9e9e9e"
    }
    property alias font: label.font

    spacing: 6

    Rectangle {
        anchors.verticalCenter: parent.verticalCenter
        width: label.font.pixelSize > 0 ? label.font.pixelSize * 0.7 : 9
        height: width
        radius: width / 2
        color: root.statusColor
    }
    Text {
        id: label
        text: root.statusText
        elide: Text.ElideRight
    }
}
