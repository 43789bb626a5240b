// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick
import QtQuick.Controls

// One chat message: a bubble with its author and time, on the right for your own.
Item {
    id: delegate

    required property var modelData
    required property string ownName

    readonly property string author: modelData.author !== undefined ? String(modelData.author)
                                                                   : qsTr("someone")
    readonly property bool mine: author === ownName
    readonly property date sentAt: new Date(modelData.sentAt)

    // The same name gets the same colour in every window.
    function colorOf(name) {
        let hash = 0
        for (let i = 0; i < name.length; ++i)
            hash = (hash * 31 + name.charCodeAt(i)) % 360
        return Qt.hsla(hash / 360, 0.55, 0.38, 1)
    }

    implicitHeight: bubble.height

    Rectangle {
        id: bubble

        x: delegate.mine ? delegate.width - width - 1 : 1
        width: Math.min(delegate.width * 0.8,
                        Math.max(header.implicitWidth, content.implicitWidth) + 20)
        height: header.height + content.height + 14
        radius: 8
        color: delegate.mine ? "#d7ecff" : "#f1f1f1"
        border.color: delegate.mine ? "#a9d0f5" : "#dcdcdc"

        Label {
            id: header
            x: 10
            y: 6
            width: parent.width - 20
            text: (delegate.mine ? qsTr("You") : delegate.author)
                  + (isNaN(delegate.sentAt) ? "" : "  ·  " + delegate.sentAt.toLocaleTimeString(Qt.locale(), "HH:mm"))
            font.bold: true
            font.pixelSize: 11
            color: delegate.colorOf(delegate.author)
            elide: Text.ElideRight
        }
        Label {
            id: content
            x: 10
            anchors.top: header.bottom
            anchors.topMargin: 2
            width: Math.min(implicitWidth, delegate.width * 0.8 - 20)
            text: delegate.modelData.content !== undefined ? String(delegate.modelData.content) : ""
            wrapMode: Text.Wrap
            textFormat: Text.PlainText
        }
    }
}
