// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncrequest.h"

class QStateSyncRequestPrivate
{
public:
    QStateSyncRequest::Status status = QStateSyncRequest::Pending;
    QString rejectionMessage;
};

/*!
    \class QStateSyncRequest
    \inmodule QStateSync
    \brief The QStateSyncRequest class is the base of the requests that QStateSyncer's
    hooks hand to their handlers.

    A hook of QStateSyncer is a signal carrying a request object, in the manner of
    QAuthenticator and QWebSocketCorsAuthenticator: a connected slot, lambda or QML
    handler looks at the request and answers it. It may:

    \list
    \li accept it (each subclass has an \c accept() function),
    \li refuse it with reject(), optionally with a message for the peer,
    \li or call defer() and answer later, for example after asking a database. The server
        waits; for updates, later updates to the same state wait behind it, so one state's
        updates are always applied in the order they arrived.
    \endlist

    A request that no handler answers or defers is accepted when the signal returns. The
    first answer counts; later ones are ignored. An authorization or join request whose
    peer goes away before the answer is cancelled (status() becomes \l Cancelled) and
    its answer no longer matters. An update request is cancelled only when its state is
    removed: a change stays valid when its sender leaves, and is applied if accepted.

    The server owns the request and deletes it after it finished(); keep it in a QPointer
    while answering later.
*/

/*!
    \enum QStateSyncRequest::Status

    \value Pending No handler has answered yet.
    \value Deferred A handler called defer() and will answer later.
    \value Accepted The request was accepted.
    \value Rejected The request was refused.
    \value Cancelled The peer went away, or the state was removed, before an answer.
*/

/*!
    \property QStateSyncRequest::status
    \brief where the request stands.
*/

/*!
    \property QStateSyncRequest::answered
    \brief whether the request was accepted, rejected or cancelled.
*/

/*!
    \property QStateSyncRequest::rejectionMessage
    \brief the message given to reject(), sent to the peer with the refusal.
*/

/*!
    \fn void QStateSyncRequest::statusChanged()

    This signal is emitted when status() changes.
*/

/*!
    \fn void QStateSyncRequest::finished()

    This signal is emitted once, when the request is accepted, rejected or cancelled.
*/

/*!
    \internal
*/
QStateSyncRequest::QStateSyncRequest(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<QStateSyncRequestPrivate>())
{ }

/*!
    Destroys the request.
*/
QStateSyncRequest::~QStateSyncRequest() = default;

QStateSyncRequest::Status QStateSyncRequest::status() const
{
    return d->status;
}

bool QStateSyncRequest::isAnswered() const
{
    return d->status == Accepted || d->status == Rejected || d->status == Cancelled;
}

QString QStateSyncRequest::rejectionMessage() const
{
    return d->rejectionMessage;
}

/*!
    Tells the server that the answer comes later. Without it, a request that the handler
    leaves unanswered is accepted as soon as the handler returns.
*/
void QStateSyncRequest::defer()
{
    if (d->status == Pending)
        setStatus(Deferred);
}

/*!
    Refuses the request. \a message, when given, is sent to the peer with the refusal's
    error code instead of the default message.
*/
void QStateSyncRequest::reject(const QString &message)
{
    if (isAnswered())
        return;
    d->rejectionMessage = message;
    setStatus(Rejected);
}

/*!
    Marks the request accepted; returns \c false when it was answered already.
*/
bool QStateSyncRequest::markAccepted()
{
    if (isAnswered())
        return false;
    setStatus(Accepted);
    return true;
}

void QStateSyncRequest::cancel()
{
    if (!isAnswered())
        setStatus(Cancelled);
}

void QStateSyncRequest::setStatus(Status status)
{
    d->status = status;
    Q_EMIT statusChanged();
    if (isAnswered())
        Q_EMIT finished();
}
