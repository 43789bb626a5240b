// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

import QtQuick

// Plays demo steps ("command:argument") one tick at a time, so that a window can be
// driven the way a person uses it: typing key by key shows up as "typing…" elsewhere.
// The window handles perform() and calls next() when the current step is complete. The
// screenshot script and the tests drive two windows against each other this way.
QtObject {
    id: autoplay

    property list<string> steps
    // Playing starts when ready (the window joined its state).
    property bool ready: false
    readonly property bool active: steps.length > 0
    // Also true when there is nothing to play.
    readonly property bool done: stepIndex >= steps.length
    property int stepIndex: 0
    // How often perform() was called for the current step.
    property int tick: 0

    readonly property string currentStep: stepIndex < steps.length ? steps[stepIndex] : ""
    readonly property string command: currentStep.indexOf(":") < 0
                                      ? currentStep
                                      : currentStep.slice(0, currentStep.indexOf(":"))
    readonly property string argument: currentStep.indexOf(":") < 0
                                       ? ""
                                       : currentStep.slice(currentStep.indexOf(":") + 1)

    signal perform(string command, string argument, int tick)

    function next() {
        tick = 0
        ++stepIndex
    }

    // 40 ms a tick: quick for a script, slow enough for the others to see the typing.
    readonly property Timer timer: Timer {
        interval: 40
        repeat: true
        running: autoplay.ready && !autoplay.done
        onTriggered: autoplay.perform(autoplay.command, autoplay.argument, autoplay.tick++)
    }
}
