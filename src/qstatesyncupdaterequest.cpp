// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncupdaterequest.h"

class QStateSyncUpdateRequestPrivate
{
public:
    QString stateIdentifier;
    QString clientIdentifier;
    QVariantMap clientInformation;
    QStateSyncUpdateRequest::Kind kind = QStateSyncUpdateRequest::Update;
    bool serverSide = false;
    QJsonObject updates;
    QJsonObject appends;
};

/*!
    \class QStateSyncUpdateRequest
    \inmodule QStateSync
    \brief The QStateSyncUpdateRequest class asks whether an update or an append may be
    applied to a state, and lets the handler change it.

    QStateSyncer emits \l{QStateSyncer::}{updateRequested()} with one of these for every
    change to a state, after the state's own interceptor (see
    QStateSyncStateOptions::setInterceptStateUpdate()) let it through. The handler may
    change updates() (or appends() for an append), accept, reject (the sender is answered
    with the code \c update_refused), or defer and answer later. While a request is
    deferred, later changes to the same state wait behind it: a state applies its changes
    one at a time, in the order they arrived.

    \snippet snippets/server.cpp update-hook

    See QStateSyncRequest for the rules every request follows.
*/

/*!
    \enum QStateSyncUpdateRequest::Kind

    \value Update A merge of updates() into the state.
    \value Append Items appended to the arrays named in appends().
*/

/*!
    \property QStateSyncUpdateRequest::stateIdentifier
    \brief the state to change.
*/

/*!
    \property QStateSyncUpdateRequest::clientIdentifier
    \brief the sender's identifier; empty for QStateSyncer::updateStateValue().
*/

/*!
    \property QStateSyncUpdateRequest::clientInformation
    \brief the sender's client information (for a server-side update, the one passed to
    QStateSyncer::updateStateValue()).
*/

/*!
    \property QStateSyncUpdateRequest::kind
    \brief whether this is an update or an append.
*/

/*!
    \property QStateSyncUpdateRequest::serverSide
    \brief whether the change comes from the server itself rather than a client.
*/

/*!
    \property QStateSyncUpdateRequest::updates
    \brief the updates to merge, for an update. Setting it changes what is applied.
*/

/*!
    \property QStateSyncUpdateRequest::appends
    \brief the items to append, \c{{key: [items]}}, for an append. Setting it changes what
    is applied.
*/

QStateSyncUpdateRequest::QStateSyncUpdateRequest(const QString &stateIdentifier,
                                                 const QString &clientIdentifier,
                                                 const QVariantMap &clientInformation, Kind kind,
                                                 bool serverSide, const QJsonObject &changes,
                                                 QObject *parent)
    : QStateSyncRequest(parent)
    , d(std::make_unique<QStateSyncUpdateRequestPrivate>())
{
    d->stateIdentifier = stateIdentifier;
    d->clientIdentifier = clientIdentifier;
    d->clientInformation = clientInformation;
    d->kind = kind;
    d->serverSide = serverSide;
    if (kind == Append)
        d->appends = changes;
    else
        d->updates = changes;
}

/*!
    Destroys the request.
*/
QStateSyncUpdateRequest::~QStateSyncUpdateRequest() = default;

QString QStateSyncUpdateRequest::stateIdentifier() const
{
    return d->stateIdentifier;
}

QString QStateSyncUpdateRequest::clientIdentifier() const
{
    return d->clientIdentifier;
}

QVariantMap QStateSyncUpdateRequest::clientInformation() const
{
    return d->clientInformation;
}

QStateSyncUpdateRequest::Kind QStateSyncUpdateRequest::kind() const
{
    return d->kind;
}

bool QStateSyncUpdateRequest::isServerSide() const
{
    return d->serverSide;
}

QJsonObject QStateSyncUpdateRequest::updates() const
{
    return d->updates;
}

void QStateSyncUpdateRequest::setUpdates(const QJsonObject &updates)
{
    if (isAnswered() || d->updates == updates)
        return;
    d->updates = updates;
    Q_EMIT updatesChanged();
}

QJsonObject QStateSyncUpdateRequest::appends() const
{
    return d->appends;
}

void QStateSyncUpdateRequest::setAppends(const QJsonObject &appends)
{
    if (isAnswered() || d->appends == appends)
        return;
    d->appends = appends;
    Q_EMIT appendsChanged();
}

/*!
    Applies the change, as updates() or appends() hold it now.
*/
void QStateSyncUpdateRequest::accept()
{
    markAccepted();
}
