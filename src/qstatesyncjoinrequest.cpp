// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncjoinrequest.h"

class QStateSyncJoinRequestPrivate
{
public:
    QString stateIdentifier;
    QString clientIdentifier;
    QVariantMap clientInformation;
    QVariantMap publicInformation;
};

/*!
    \class QStateSyncJoinRequest
    \inmodule QStateSync
    \brief The QStateSyncJoinRequest class asks whether a client may join a state.

    QStateSyncer emits \l{QStateSyncer::}{joinRequested()} with one of these when a client
    asks to join an existing state whose \l{QStateSyncStateOptions::}{allowConnectingClient()}
    filter (if any) let it through. Accept, reject (the client is answered with the code
    \c join_refused), or defer and answer later. See QStateSyncRequest for the rules every
    request follows.
*/

/*!
    \property QStateSyncJoinRequest::stateIdentifier
    \brief the state the client asks to join.
*/

/*!
    \property QStateSyncJoinRequest::clientIdentifier
    \brief the client's identifier.
*/

/*!
    \property QStateSyncJoinRequest::clientInformation
    \brief the client information that authorization kept with the connection.
*/

/*!
    \property QStateSyncJoinRequest::publicInformation
    \brief what the state's other clients see of this client in its presence.

    It starts as the public information authorization gave the connection; the hook may
    change it for this state.
*/

/*!
    \fn void QStateSyncJoinRequest::publicInformationChanged()

    This signal is emitted when publicInformation changes.
*/

QStateSyncJoinRequest::QStateSyncJoinRequest(const QString &stateIdentifier,
                                             const QString &clientIdentifier,
                                             const QVariantMap &clientInformation,
                                             const QVariantMap &publicInformation, QObject *parent)
    : QStateSyncRequest(parent)
    , d(std::make_unique<QStateSyncJoinRequestPrivate>())
{
    d->stateIdentifier = stateIdentifier;
    d->clientIdentifier = clientIdentifier;
    d->clientInformation = clientInformation;
    d->publicInformation = publicInformation;
}

/*!
    Destroys the request.
*/
QStateSyncJoinRequest::~QStateSyncJoinRequest() = default;

QString QStateSyncJoinRequest::stateIdentifier() const
{
    return d->stateIdentifier;
}

QString QStateSyncJoinRequest::clientIdentifier() const
{
    return d->clientIdentifier;
}

QVariantMap QStateSyncJoinRequest::clientInformation() const
{
    return d->clientInformation;
}

QVariantMap QStateSyncJoinRequest::publicInformation() const
{
    return d->publicInformation;
}

void QStateSyncJoinRequest::setPublicInformation(const QVariantMap &information)
{
    if (isAnswered() || d->publicInformation == information)
        return;
    d->publicInformation = information;
    Q_EMIT publicInformationChanged();
}

/*!
    Lets the client join the state.
*/
void QStateSyncJoinRequest::accept()
{
    markAccepted();
}
