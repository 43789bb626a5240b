// Example hooks for qstatesyncd written in QML, loaded with --hooks or the
// configuration's "hooks" key. doc/qstatesyncd.md ("Hooks") describes every function.
// Needs the QtQml QML module (Debian: qml6-module-qtqml, qml6-module-qtqml-models).
import QtQml

QtObject {
    id: hooks

    // Clients whose identifier is on this list are refused.
    property var blocked: ["mallory"]

    // Lets clients in with their token's claims, plus the address they came from.
    function authorize(request, claims) {
        if (blocked.indexOf(request.clientIdentifier) >= 0)
            return false;
        var information = claims || {};
        information.peerAddress = request.peerAddress;
        return information;
    }

    // Answers updates of the board later, the way a hook that asks another service
    // would: the state's later changes wait for the answer.
    function updateRequested(request) {
        if (request.stateIdentifier !== "board" || request.kind !== 0)
            return;
        request.defer();
        setTimeout(function () {
            var updates = request.updates;
            updates.lastEditor = request.clientInformation.sub || request.clientIdentifier;
            request.updates = updates;
            request.accept();
        }, 10);
    }
}
