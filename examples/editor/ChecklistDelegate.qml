// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// One checklist item. The check box shows the shared value only: a click asks for the
// change (toggleRequested) and the box follows when the server's update arrives, so
// every window shows the same, the server's, answer.
RowLayout {
    id: delegate

    // { id, text, done }
    required property var modelData

    signal toggleRequested(bool done)
    signal removeRequested()

    CheckBox {
        Layout.fillWidth: true
        text: delegate.modelData.text
        checked: delegate.modelData.done
        font.strikeout: delegate.modelData.done
        nextCheckState: function() {
            delegate.toggleRequested(!delegate.modelData.done)
            return checkState
        }
    }
    ToolButton {
        text: "×"
        font.pixelSize: 16
        onClicked: delegate.removeRequested()
        ToolTip.visible: hovered
        ToolTip.text: qsTr("Remove")
    }
}
