// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncauthorizationrequest.h"
#include "qstatesynchttpheaders_p.h"

#include <QtCore/qurlquery.h>

class QStateSyncAuthorizationRequestPrivate
{
public:
    QUrl url;
    QString clientIdentifier;
    QString token;
    QList<QPair<QByteArray, QByteArray>> headers;
    QHostAddress peerAddress;
    QVariantMap clientInformation;
    QVariantMap publicInformation;
};

/*!
    \class QStateSyncAuthorizationRequest
    \inmodule QStateSync
    \brief The QStateSyncAuthorizationRequest class asks whether a connecting client may
    open a WebSocket to the server.

    QStateSyncer emits \l{QStateSyncer::}{authorizationRequested()} with one of these for
    every HTTP upgrade request that names a client identifier, before any WebSocket is
    opened. The handler reads the URL, the \c identifier and \c token query items, the
    headers and the peer address, then accepts with the client information to keep with
    the connection (every later hook receives it), rejects, or defers and answers later.
    A rejected client receives a real \c{HTTP/1.1 401 Unauthorized} and the socket is
    closed; a request without \c identifier is rejected that way before the hook runs.

    \snippet snippets/server.cpp authorization

    See QStateSyncRequest for the rules every request follows.
*/

/*!
    \property QStateSyncAuthorizationRequest::url
    \brief the request URL, with the query.

    The query holds the access token: do not log it.
*/

/*!
    \property QStateSyncAuthorizationRequest::clientIdentifier
    \brief the \c identifier query item: who the client says it is.
*/

/*!
    \property QStateSyncAuthorizationRequest::token
    \brief the \c token query item, empty when the client gave none.
*/

/*!
    \property QStateSyncAuthorizationRequest::headers
    \brief the request headers, names in lower case.
*/

/*!
    \property QStateSyncAuthorizationRequest::peerAddress
    \brief the address the connection comes from, as text.
*/

/*!
    \property QStateSyncAuthorizationRequest::clientInformation
    \brief the client information given to accept().
*/

/*!
    \property QStateSyncAuthorizationRequest::publicInformation
    \brief what the other clients of a state see of this client in its presence, for
    example a display name. Empty by default.

    Client information stays on the server; public information is sent to every client
    joined to the same state. A join hook can still change it for one state (see
    QStateSyncJoinRequest::publicInformation).
*/

/*!
    \fn void QStateSyncAuthorizationRequest::publicInformationChanged()

    This signal is emitted when publicInformation changes.
*/

QStateSyncAuthorizationRequest::QStateSyncAuthorizationRequest(
        const QUrl &url, const QList<QPair<QByteArray, QByteArray>> &headers,
        const QHostAddress &peerAddress, QObject *parent)
    : QStateSyncRequest(parent)
    , d(std::make_unique<QStateSyncAuthorizationRequestPrivate>())
{
    // Query strings are form-encoded: '+' stands for a space, as the original server and
    // every web server read it. A literal plus arrives as %2B.
    const QUrlQuery query(
            url.query(QUrl::FullyEncoded).replace(QLatin1Char('+'), QLatin1String("%20")));
    d->url = url;
    d->clientIdentifier = query.queryItemValue(QStringLiteral("identifier"), QUrl::FullyDecoded);
    d->token = query.queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
    d->headers = headers;
    d->peerAddress = peerAddress;
}

/*!
    Destroys the request.
*/
QStateSyncAuthorizationRequest::~QStateSyncAuthorizationRequest() = default;

QUrl QStateSyncAuthorizationRequest::url() const
{
    return d->url;
}

QString QStateSyncAuthorizationRequest::clientIdentifier() const
{
    return d->clientIdentifier;
}

QString QStateSyncAuthorizationRequest::token() const
{
    return d->token;
}

QVariantMap QStateSyncAuthorizationRequest::headers() const
{
    return QStateSyncHttpHeaders::toVariantMap(d->headers);
}

/*!
    Returns the value of the header \a name (matched without regard to case), or an
    empty byte array.
*/
QByteArray QStateSyncAuthorizationRequest::header(const QByteArray &name) const
{
    return QStateSyncHttpHeaders::value(d->headers, name);
}

/*!
    Returns the address the connection comes from.
*/
QHostAddress QStateSyncAuthorizationRequest::peerAddress() const
{
    return d->peerAddress;
}

QString QStateSyncAuthorizationRequest::peerAddressString() const
{
    return d->peerAddress.toString();
}

QVariantMap QStateSyncAuthorizationRequest::clientInformation() const
{
    return d->clientInformation;
}

QVariantMap QStateSyncAuthorizationRequest::publicInformation() const
{
    return d->publicInformation;
}

void QStateSyncAuthorizationRequest::setPublicInformation(const QVariantMap &information)
{
    if (isAnswered() || d->publicInformation == information)
        return;
    d->publicInformation = information;
    Q_EMIT publicInformationChanged();
}

/*!
    Lets the client in. \a clientInformation is kept with the connection and handed to
    every later hook: the join and update requests, and the state options' callbacks.
*/
void QStateSyncAuthorizationRequest::accept(const QVariantMap &clientInformation)
{
    if (isAnswered())
        return;
    d->clientInformation = clientInformation;
    markAccepted();
}
