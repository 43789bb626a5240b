// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick
import QtQuick.Controls

// "Bob is editing": one chip in the person's colour for everyone else whose presence
// says they edit this part of the document.
Row {
    id: badge

    // [{ name, color, typing }]
    property var editors: []
    // The colour of the first of them, for a frame around what they edit.
    readonly property color color: editors.length > 0 ? editors[0].color : "transparent"

    spacing: 4

    Repeater {
        model: badge.editors
        delegate: Rectangle {
            id: chip

            required property var modelData

            width: label.implicitWidth + 12
            height: label.implicitHeight + 4
            radius: height / 2
            color: modelData.color

            Label {
                id: label
                anchors.centerIn: parent
                text: chip.modelData.typing ? qsTr("%1 is typing…").arg(chip.modelData.name)
                                            : qsTr("%1 is editing").arg(chip.modelData.name)
                color: "white"
                font.pixelSize: 11
                font.bold: true
            }
        }
    }
}
