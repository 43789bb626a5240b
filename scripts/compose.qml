// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick

// Puts window screenshots side by side, each under a title bar, and saves the result:
//   qml compose.qml -- OUTPUT IMAGE TITLE [IMAGE TITLE]...
// Run offscreen by scripts/screenshots.sh; Qt's qml tool is all it needs.
Window {
    id: root

    readonly property list<string> args: {
        const all = Qt.application.arguments
        return all.slice(all.indexOf("--") + 1)
    }
    readonly property string output: args.length > 0 ? args[0] : ""
    readonly property var shots: {
        const list = []
        for (let i = 1; i + 1 < args.length; i += 2)
            list.push({ image: args[i], title: args[i + 1] })
        return list
    }

    width: canvas.width
    height: canvas.height
    visible: true

    Rectangle {
        id: canvas
        width: row.width
        height: row.height
        color: "#d5d8dc"

    Row {
        id: row
        padding: 14
        spacing: 14

        Repeater {
            model: root.shots
            delegate: Rectangle {
                id: frame

                required property var modelData

                width: shot.width + 2
                height: titleBar.height + shot.height + 2
                color: "#8a8f96"
                radius: 4

                Rectangle {
                    id: titleBar
                    x: 1
                    y: 1
                    width: shot.width
                    height: 26
                    radius: 3
                    color: "#3c4043"
                    Text {
                        anchors.centerIn: parent
                        text: frame.modelData.title
                        color: "white"
                        font.pixelSize: 13
                    }
                }
                Image {
                    id: shot
                    x: 1
                    y: titleBar.height + 1
                    source: "file://" + frame.modelData.image
                }
            }
        }
    }
    }

    // Local images load synchronously: everything is in place once the window is shown.
    Component.onCompleted: Qt.callLater(() => {
        if (root.output === "" || root.shots.length === 0) {
            console.warn("usage: qml compose.qml -- OUTPUT IMAGE TITLE [IMAGE TITLE]...")
            Qt.exit(2)
            return
        }
        if (!canvas.grabToImage((result) => Qt.exit(result.saveToFile(root.output) ? 0 : 1)))
            Qt.exit(1)
    })
}
