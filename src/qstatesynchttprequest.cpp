// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynchttprequest.h"
#include "qstatesynchttpheaders_p.h"

class QStateSyncHttpRequestPrivate
{
public:
    QByteArray method;
    QUrl url;
    QList<QPair<QByteArray, QByteArray>> headers;
    QHostAddress peerAddress;
    bool answered = false;
    bool deferred = false;
};

/*!
    \class QStateSyncHttpRequest
    \inmodule QStateSync
    \brief The QStateSyncHttpRequest class is a plain HTTP request that reached a
    QStateSyncer's port.

    A QStateSyncer serves WebSockets, but a request that does not ask for a WebSocket
    upgrade (a GET or HEAD) is handed to \l{QStateSyncer::}{httpRequested()} first, so an
    application can answer health checks or metrics on the same port. The handler calls
    respond(), now or after defer(); a request nobody answers gets
    \c{426 Upgrade Required}. The connection closes after the answer.

    \snippet snippets/server.cpp http

    The server owns the request and deletes it after the answer.
*/

/*!
    \property QStateSyncHttpRequest::method
    \brief the HTTP method, \c GET or \c HEAD.
*/

/*!
    \property QStateSyncHttpRequest::url
    \brief the request URL, with its query.
*/

/*!
    \property QStateSyncHttpRequest::path
    \brief the path of the request URL, for example \c{/healthz}.
*/

/*!
    \property QStateSyncHttpRequest::headers
    \brief the request headers, names in lower case.
*/

/*!
    \property QStateSyncHttpRequest::peerAddress
    \brief the address the request comes from, as text.
*/

/*!
    \property QStateSyncHttpRequest::answered
    \brief whether respond() was called.
*/

/*!
    \fn void QStateSyncHttpRequest::answeredChanged()

    This signal is emitted once, when the request is answered.
*/

/*!
    \fn void QStateSyncHttpRequest::responded(int status, const QByteArray &body, const QByteArray &contentType)

    This signal is emitted once, with the answer's \a status, \a body and \a
    contentType.
*/

QStateSyncHttpRequest::QStateSyncHttpRequest(const QByteArray &method, const QUrl &url,
                                             const QList<QPair<QByteArray, QByteArray>> &headers,
                                             const QHostAddress &peerAddress, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<QStateSyncHttpRequestPrivate>())
{
    d->method = method;
    d->url = url;
    d->headers = headers;
    d->peerAddress = peerAddress;
}

/*!
    Destroys the request.
*/
QStateSyncHttpRequest::~QStateSyncHttpRequest() = default;

QString QStateSyncHttpRequest::method() const
{
    return QString::fromLatin1(d->method);
}

QUrl QStateSyncHttpRequest::url() const
{
    return d->url;
}

QString QStateSyncHttpRequest::path() const
{
    return d->url.path();
}

QVariantMap QStateSyncHttpRequest::headers() const
{
    return QStateSyncHttpHeaders::toVariantMap(d->headers);
}

/*!
    Returns the value of the header \a name (matched without regard to case), or an
    empty byte array.
*/
QByteArray QStateSyncHttpRequest::header(const QByteArray &name) const
{
    return QStateSyncHttpHeaders::value(d->headers, name);
}

/*!
    Returns the address the request comes from.
*/
QHostAddress QStateSyncHttpRequest::peerAddress() const
{
    return d->peerAddress;
}

QString QStateSyncHttpRequest::peerAddressString() const
{
    return d->peerAddress.toString();
}

bool QStateSyncHttpRequest::isAnswered() const
{
    return d->answered;
}

/*!
    Returns whether defer() was called.
*/
bool QStateSyncHttpRequest::isDeferred() const
{
    return d->deferred;
}

/*!
    Answers with the HTTP \a status, the \a body and its \a contentType. Only the first
    answer counts. For a HEAD request, only the headers are sent.
*/
void QStateSyncHttpRequest::respond(int status, const QByteArray &body,
                                    const QByteArray &contentType)
{
    if (d->answered)
        return;
    d->answered = true;
    Q_EMIT responded(status, body, contentType);
    Q_EMIT answeredChanged();
}

/*!
    Tells the server that respond() will be called later.
*/
void QStateSyncHttpRequest::defer()
{
    d->deferred = true;
}
