// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncstateoptions.h"

class QStateSyncStateOptionsPrivate : public QSharedData
{
public:
    QString identifier;
    QJsonObject initialValue;
    std::chrono::milliseconds ttl{0};
    QStateSync::MergeMode mergeMode = QStateSync::MergeMode::Deep;
    QStateSyncStateOptions::JoinFilter allowConnectingClient;
    QStateSyncStateOptions::Interceptor interceptStateUpdate;
    QStateSyncStateOptions::Interceptor interceptStateAppend;
    QStateSyncStateOptions::SelfDestruct selfDestruct;
};

/*!
    \class QStateSyncStateOptions
    \inmodule QStateSync
    \brief The QStateSyncStateOptions class describes a state for
    QStateSyncer::createState(): its identifier, initial value, lifetime, merge mode and
    hooks.

    It mirrors the \c StateOptions object of the JavaScript \c server-state-sync: every
    option of the original has a setter here, and every hook is a \c std::function, so a
    lambda does what a JavaScript callback did.

    \snippet snippets/server.cpp create-state

    The hooks run on the server's thread, in this order for an update: the state's
    interceptor (interceptStateUpdate() or interceptStateAppend()), then every slot
    connected to QStateSyncer::updateRequested(). Each may refuse the update; the sender
    is then told with the code \c update_refused.

    The class is implicitly shared.
*/

/*!
    \typealias QStateSyncStateOptions::JoinFilter

    \c{std::function<bool(const QVariantMap &clientInformation)>}: returns whether the
    client described by \e clientInformation may join the state.
*/

/*!
    \typealias QStateSyncStateOptions::Interceptor

    \c{std::function<std::optional<QJsonObject>(const QJsonObject &changes, const
    QVariantMap &clientInformation)>}: returns the changes to apply (unchanged, or
    modified), or \c std::nullopt to refuse them.
*/

/*!
    \typealias QStateSyncStateOptions::SelfDestruct

    \c{std::function<bool(int numberOfClientsLeft, const QDateTime &timeOfCreation)>}:
    asked every time a client leaves the state; returns whether the state should be
    removed.
*/

/*!
    Constructs options for a state with a generated identifier, an empty initial value,
    no time to live, deep merging and no hooks.
*/
QStateSyncStateOptions::QStateSyncStateOptions()
    : d(new QStateSyncStateOptionsPrivate)
{ }

/*!
    Constructs a copy of \a other.
*/
QStateSyncStateOptions::QStateSyncStateOptions(const QStateSyncStateOptions &other) = default;

/*!
    Move-constructs options from \a other.
*/
QStateSyncStateOptions::QStateSyncStateOptions(QStateSyncStateOptions &&other) noexcept = default;

/*!
    Assigns \a other to these options.
*/
QStateSyncStateOptions &QStateSyncStateOptions::operator=(const QStateSyncStateOptions &other)
        = default;

/*!
    Move-assigns \a other to these options.
*/
QStateSyncStateOptions &
QStateSyncStateOptions::operator=(QStateSyncStateOptions &&other) noexcept = default;

/*!
    Destroys the options.
*/
QStateSyncStateOptions::~QStateSyncStateOptions() = default;

/*!
    \fn void QStateSyncStateOptions::swap(QStateSyncStateOptions &other)

    Swaps these options with \a other.
*/

/*!
    Returns the identifier the state is created with; an empty string (the default) makes
    QStateSyncer::createState() generate a UUID.
*/
QString QStateSyncStateOptions::identifier() const
{
    return d->identifier;
}

/*!
    Sets the state's identifier to \a identifier.
*/
void QStateSyncStateOptions::setIdentifier(const QString &identifier)
{
    d->identifier = identifier;
}

/*!
    Returns the value the state starts with. The default is an empty object.
*/
QJsonObject QStateSyncStateOptions::initialValue() const
{
    return d->initialValue;
}

/*!
    Sets the value the state starts with to \a value.
*/
void QStateSyncStateOptions::setInitialValue(const QJsonObject &value)
{
    d->initialValue = value;
}

/*!
    \overload

    Sets the value the state starts with to \a value, converted to JSON.
*/
void QStateSyncStateOptions::setInitialValue(const QVariantMap &value)
{
    d->initialValue = QJsonObject::fromVariantMap(value);
}

/*!
    Returns the state's time to live. Zero (the default) means the state lives until it
    is removed.
*/
std::chrono::milliseconds QStateSyncStateOptions::ttl() const
{
    return d->ttl;
}

/*!
    Gives the state \a ttl to live, counted from its creation. When it runs out the state
    is removed with QStateSync::RemovalReason::Ttl, and joined clients are told. Zero or a
    negative duration means no limit.
*/
void QStateSyncStateOptions::setTtl(std::chrono::milliseconds ttl)
{
    d->ttl = ttl;
}

/*!
    Returns how the state merges updates. The default is QStateSync::MergeMode::Deep.
*/
QStateSync::MergeMode QStateSyncStateOptions::mergeMode() const
{
    return d->mergeMode;
}

/*!
    Sets how the state merges updates to \a mode.
*/
void QStateSyncStateOptions::setMergeMode(QStateSync::MergeMode mode)
{
    d->mergeMode = mode;
}

/*!
    Returns the join filter, or an empty function when every authorized client may join.
*/
QStateSyncStateOptions::JoinFilter QStateSyncStateOptions::allowConnectingClient() const
{
    return d->allowConnectingClient;
}

/*!
    Sets \a filter to decide every join to the state. It receives the client information
    that authorization gave the connection. A refused client is answered with the code
    \c join_refused.
*/
void QStateSyncStateOptions::setAllowConnectingClient(const JoinFilter &filter)
{
    d->allowConnectingClient = filter;
}

/*!
    Returns the update interceptor, or an empty function.
*/
QStateSyncStateOptions::Interceptor QStateSyncStateOptions::interceptStateUpdate() const
{
    return d->interceptStateUpdate;
}

/*!
    Sets \a interceptor to see every update to the state before it is applied: those of
    clients and those of QStateSyncer::updateStateValue(). It returns the updates to
    apply, possibly modified, or \c std::nullopt to refuse them; a refused client update
    is answered with the code \c update_refused (the original stayed silent).

    When the state has no append interceptor, an append is shown to this interceptor the
    way a client of the original sends it: as \c{{key: the whole new array}}. What the
    interceptor returns is then applied as an update. Because the state applies one change
    at a time, no concurrent append is lost this way.
*/
void QStateSyncStateOptions::setInterceptStateUpdate(const Interceptor &interceptor)
{
    d->interceptStateUpdate = interceptor;
}

/*!
    Returns the append interceptor, or an empty function.
*/
QStateSyncStateOptions::Interceptor QStateSyncStateOptions::interceptStateAppend() const
{
    return d->interceptStateAppend;
}

/*!
    Sets \a interceptor to see every append to the state before it is applied. It
    receives the items to append, as \c{{key: [items]}}, and returns them (possibly
    modified) or \c std::nullopt to refuse the append.
*/
void QStateSyncStateOptions::setInterceptStateAppend(const Interceptor &interceptor)
{
    d->interceptStateAppend = interceptor;
}

/*!
    Returns the self-destruct hook, or an empty function.
*/
QStateSyncStateOptions::SelfDestruct QStateSyncStateOptions::selfDestruct() const
{
    return d->selfDestruct;
}

/*!
    Sets \a selfDestruct to be asked every time a client leaves the state (it closes its
    connection, leaves, or joins another state). It receives the number of clients still
    joined and the time the state was created; returning \c true removes the state with
    QStateSync::RemovalReason::SelfDestruct.
*/
void QStateSyncStateOptions::setSelfDestruct(const SelfDestruct &selfDestruct)
{
    d->selfDestruct = selfDestruct;
}
