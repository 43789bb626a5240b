// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncnamespace.h"

#include <array>

/*!
    \namespace QStateSync
    \inmodule QStateSync
    \brief The QStateSync namespace holds the enumerations shared by the server and
    the client: error codes, merge modes and the reasons a state goes away.
*/

/*!
    \enum QStateSync::Error

    Every refused request is answered with one of these codes. On the wire the code
    travels as the stable string returned by errorCode(), next to a human-readable
    message.

    \value NoError No error. Wire code: \c ok.
    \value InvalidJson The message was not valid JSON. Wire code: \c invalid_json.
    \value InvalidMessage The message was JSON but not of the protocol's shape (not an
        object, a field of the wrong type, a binary frame). Wire code: \c invalid_message.
    \value UnsupportedMessageType The message type is not one the server handles.
        Wire code: \c unsupported_message_type.
    \value MissingStateIdentifier A join named no state. Wire code:
        \c missing_state_identifier.
    \value StateNotFound No state has that identifier. Wire code: \c state_not_found.
    \value JoinRefused The state's join hook refused the client. Wire code: \c join_refused.
    \value NotJoined An update came from a client that has not joined a state. Wire code:
        \c not_joined.
    \value MissingUpdates An update carried no \c updates object. Wire code:
        \c missing_updates.
    \value UpdateRefused An update hook refused the update. Wire code: \c update_refused.
    \value NestingTooDeep The message nests deeper than the server allows. Wire code:
        \c nesting_too_deep.
    \value MessageTooLarge The message is larger than the server allows. Wire code:
        \c message_too_large.
    \value NotAnArray An append named a key whose value is not an array. Wire code:
        \c not_an_array.
    \value StateRemoved The state was removed while the client was joined. Wire code:
        \c state_removed.
    \value Unauthorized The server refused the connection (HTTP 401). Wire code:
        \c unauthorized.
    \value ConnectionFailed The connection could not be opened or was lost. Wire code:
        \c connection_failed.
    \value NotConnected A request was made while the client was not connected or not
        joined. Wire code: \c not_connected.
    \value RateLimited The client sent updates faster than the server allows; the
        update was not applied. Wire code: \c rate_limited.
    \value StateTooLarge The change would make the state larger than the server allows;
        it was not applied. Wire code: \c state_too_large.
    \value StateFull The state already has as many clients as the server allows. Wire
        code: \c state_full.
    \value ConnectionLost The connection was lost while the update was on its way: the
        server may or may not have applied it, and the client's copy shows the server's
        value once it has rejoined. Wire code: \c connection_lost.
    \value QueueFull The client was not connected and its queue of updates waiting to be
        sent was full; the update was not queued. Wire code: \c queue_full.
    \value StorageFailed The server's storage could not store the change, or has more
        writes waiting than it allows (its disk fails); the change was not applied. Wire
        code: \c storage_failed.
    \value UnknownError A peer reported a code this version does not know. Wire code:
        \c unknown_error.
*/

/*!
    \enum QStateSync::MergeMode

    How a state applies an update.

    \value Deep JSON Merge Patch (RFC 7386): nested objects merge, \c null deletes a key,
        arrays are replaced. The default.
    \value Shallow The original \c server-state-sync merge: each top-level key of the
        update replaces the key's whole value; \c null is stored as \c null.
*/

/*!
    \enum QStateSync::RemovalReason

    Why a state went away.

    \value Removed QStateSyncer::removeState() or QStateSyncer::removeAllStates() removed it.
    \value Ttl Its time to live ran out.
    \value SelfDestruct Its selfDestruct hook asked for it after a client left.
*/

namespace QStateSync {

namespace {
struct ErrorName
{
    Error error;
    const char *code;
};

constexpr std::array<ErrorName, 24> errorNames{{
        {Error::NoError, "ok"},
        {Error::InvalidJson, "invalid_json"},
        {Error::InvalidMessage, "invalid_message"},
        {Error::UnsupportedMessageType, "unsupported_message_type"},
        {Error::MissingStateIdentifier, "missing_state_identifier"},
        {Error::StateNotFound, "state_not_found"},
        {Error::JoinRefused, "join_refused"},
        {Error::NotJoined, "not_joined"},
        {Error::MissingUpdates, "missing_updates"},
        {Error::UpdateRefused, "update_refused"},
        {Error::NestingTooDeep, "nesting_too_deep"},
        {Error::MessageTooLarge, "message_too_large"},
        {Error::NotAnArray, "not_an_array"},
        {Error::StateRemoved, "state_removed"},
        {Error::Unauthorized, "unauthorized"},
        {Error::ConnectionFailed, "connection_failed"},
        {Error::NotConnected, "not_connected"},
        {Error::RateLimited, "rate_limited"},
        {Error::StateTooLarge, "state_too_large"},
        {Error::StateFull, "state_full"},
        {Error::ConnectionLost, "connection_lost"},
        {Error::QueueFull, "queue_full"},
        {Error::StorageFailed, "storage_failed"},
        {Error::UnknownError, "unknown_error"},
}};
} // namespace

/*!
    Returns the stable wire code of \a error, for example \c state_not_found.
    \sa errorFromCode()
*/
QString errorCode(Error error)
{
    for (const ErrorName &name : errorNames) {
        if (name.error == error)
            return QString::fromLatin1(name.code);
    }
    return QStringLiteral("unknown_error");
}

/*!
    Returns the error whose wire code is \a code, or Error::UnknownError for a code this
    version does not know.
    \sa errorCode()
*/
Error errorFromCode(QStringView code)
{
    for (const ErrorName &name : errorNames) {
        if (code == QLatin1StringView(name.code))
            return name.error;
    }
    return Error::UnknownError;
}

/*!
    Returns the wire name of \a reason: \c removed, \c ttl or \c selfDestruct.
*/
QString removalReasonName(RemovalReason reason)
{
    switch (reason) {
    case RemovalReason::Ttl:
        return QStringLiteral("ttl");
    case RemovalReason::SelfDestruct:
        return QStringLiteral("selfDestruct");
    case RemovalReason::Removed:
        break;
    }
    return QStringLiteral("removed");
}

/*!
    Returns the reason whose wire name is \a name; an unknown name reads as
    RemovalReason::Removed.
*/
RemovalReason removalReasonFromName(QStringView name)
{
    if (name == u"ttl")
        return RemovalReason::Ttl;
    if (name == u"selfDestruct")
        return RemovalReason::SelfDestruct;
    return RemovalReason::Removed;
}

} // namespace QStateSync

#include "moc_qstatesyncnamespace.cpp"
