// Example hooks for qstatesyncd, loaded with --hooks or the configuration's "hooks" key.
// doc/qstatesyncd.md ("Hooks") describes every function; all of them are optional.

// The chat is append-only: each message is stamped with its author (the token's "sub"
// claim) and the server's time, and empty messages are refused.
function interceptStateAppend(appends, clientInformation, stateIdentifier) {
    if (stateIdentifier !== "chat")
        return appends;
    for (var key in appends) {
        if (key !== "messages")
            return null;
    }
    var messages = appends.messages;
    for (var i = 0; i < messages.length; ++i) {
        var text = String(messages[i] && messages[i].text || "").trim();
        if (text.length === 0)
            return null;
        messages[i] = { text: text, author: clientInformation.sub, time: new Date().toISOString() };
    }
    return appends;
}

// Updates that would rewrite the chat's history are refused; board titles are cut to
// 80 characters.
function interceptStateUpdate(updates, clientInformation, stateIdentifier) {
    if (stateIdentifier === "chat")
        return null;
    if (stateIdentifier === "board" && typeof updates.title === "string")
        updates.title = updates.title.substring(0, 80);
    return updates;
}
