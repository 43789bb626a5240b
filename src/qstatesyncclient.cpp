// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncclient.h"
#include "qstatesyncclient_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncpresencemodel.h"
#include "qstatesyncstatemap_p.h"

#include <QtCore/qjsonarray.h>
#include <QtQml/qjsvalue.h>

#include <algorithm>

using namespace QStateSyncProtocol;

namespace {
// Values from QML arrive as QJSValue inside a QVariant: turn them into plain variants
// (maps, lists) before they become JSON.
QJsonValue jsonFromVariant(const QVariant &value)
{
    if (value.metaType() == QMetaType::fromType<QJSValue>())
        return QJsonValue::fromVariant(value.value<QJSValue>().toVariant());
    return QJsonValue::fromVariant(value);
}
} // namespace

/*!
    \class QStateSyncClient
    \inmodule QStateSync
    \brief The QStateSyncClient class joins a state on a QStateSyncer (or on a server of
    the JavaScript \c server-state-sync) and keeps a copy of it in sync.

    A client connects to an endpoint with a client identifier and an optional access
    token, joins one state at a time, and from then on holds the state's value: value()
    returns it, state() exposes it to QML as a QQmlPropertyMap, and every change the
    server applies (its own updates included) arrives as stateUpdated() and through the
    listeners added with addStateUpdateListener().

    \snippet snippets/client.cpp client

    \section1 Protocols

    The client offers QStateSync's protocol v2 during the WebSocket handshake, as the
    subprotocol \c qstatesync.v2 after a v1 fallback token. A QStateSyncer selects v2. The
    original JavaScript server selects the first token it is offered, or none, and the
    client then speaks v1 with it (protocolVersion() tells which). In v1 there are no
    versions, no acknowledgements, no error codes (the client derives them from the
    message type), no leaving and no atomic append: append() sends the whole new array,
    as the original's clients do, and the copy merges one level deep as the original's
    does.

    \section1 Updates

    updateState() sends a partial update, merged into the state by the server (JSON Merge
    Patch by default: nested objects merge, \c null deletes a key). append() adds items to
    an array atomically. setValueAt() changes one nested value. Each returns a request id;
    updateAcknowledged() reports it once the server applied it and sent it back,
    updateFailed() when it was not applied.

    Updates are optimistic (optimisticUpdates): value(), state() and the listeners show
    the client's own update at once, on top of the server's value. The server's echo
    confirms it; when the server refused it, the copy rolls back, and when a hook changed
    it, the copy shows what the server stored. Listeners hear each change of the copy once,
    with the values before it, so a confirmed update is not heard twice. serverValue() is
    the server's value alone, as of version(); once pendingUpdateCount is 0, value() equals
    it.

    \section1 Reconnection

    When the connection drops, or the server stops answering the heartbeat (a ping every
    heartbeatInterval), the client goes to the status Reconnecting and tries again, with
    a wait that doubles from reconnectDelay up to maxReconnectDelay, half of it random so
    that many clients dropped together do not come back together. With several urls,
    it tries the next endpoint at once and waits only once every endpoint failed. Once
    back, it rejoins its state and resyncs: it ends with the server's value and version,
    and the listeners hear exactly the keys that changed while it was away, with the
    values the client had. A server that refuses the client (QStateSync::Error::Unauthorized)
    is not asked again. Set autoReconnect to \c false to stop at the first loss instead.

    Updates made while the client is away (or still joining) wait in a queue of at most
    maxQueuedUpdates and are sent, in order, after the rejoin; past the bound, the update
    is refused with QStateSync::Error::QueueFull. An update that was on its way when the
    connection dropped is reported with QStateSync::Error::ConnectionLost: the server may
    or may not have applied it, and the rejoin shows which. Nothing is dropped silently:
    every update ends in updateAcknowledged() or updateFailed().

    \section1 QML

    state() has one property per top-level key of the state, so a binding such as
    \c{text: client.state.title} follows the state, and assigning
    \c{client.state.title = "x"} sends an update. A nested assignment such as
    \c{client.state.user.name = "x"} changes only a temporary copy in QML and sends
    nothing: use setValueAt(["user", "name"], "x") for nested values. A key removed from
    the state stays in the map with an undefined value (QQmlPropertyMap cannot remove
    keys), and the five names QQmlPropertyMap refuses (\c keys, \c valueChanged,
    \c QObject, \c destroyed, \c deleteLater) are left out of the map; value() has
    them.
*/

/*!
    \enum QStateSyncClient::Status

    \value Unconnected The client is not connected.
    \value Connecting The WebSocket is opening.
    \value Connected The WebSocket is open; no state is joined.
    \value Joining The client asked to join a state and waits for the answer.
    \value Joined The client holds the state's value and receives its changes.
    \value Reconnecting The connection was lost (or could not be opened) and the client
        is about to try again, or trying; updates wait in the queue meanwhile.
    \value Error The connection could not be opened; error() tells why.
*/

/*!
    \enum QStateSyncClient::ProtocolVersion

    \value ProtocolV1 The protocol of the JavaScript \c server-state-sync.
    \value ProtocolV2 QStateSync's protocol: v1 plus versions, request ids, error codes,
        append, leave and state removal.
*/

/*!
    \typealias QStateSyncClient::StateUpdateListener

    \c{std::function<void(const QVariantMap &updates, const QVariantMap &previousValues)>}:
    a listener added with addStateUpdateListener().
*/

/*!
    \property QStateSyncClient::url
    \brief the server's endpoint, for example \c{ws://localhost:5000}: the first of
    urls.
*/

/*!
    \property QStateSyncClient::urls
    \brief the server's endpoints, tried in turn.

    When one endpoint cannot be reached the client tries the next one at once; url is
    the first of them. Setting url makes it the only one.
*/

/*!
    \property QStateSyncClient::currentUrl
    \brief the endpoint the client is connected to, or trying.
*/

/*!
    \property QStateSyncClient::autoReconnect
    \brief whether the client reconnects by itself after a loss. Default: \c true.

    Turning it off while the client is Reconnecting stops it: the client closes.
*/

/*!
    \property QStateSyncClient::reconnectDelay
    \brief the first wait before reconnecting, in milliseconds. Default: 500.

    Each round of failed attempts doubles the wait, up to maxReconnectDelay; the actual
    wait is between half the step and the whole step, at random.
*/

/*!
    \property QStateSyncClient::maxReconnectDelay
    \brief the longest wait between reconnection attempts, in milliseconds. Default: 30000.
*/

/*!
    \property QStateSyncClient::reconnectAttempt
    \brief how many times the client tried to reconnect since the connection was lost;
    0 once it is back.
*/

/*!
    \property QStateSyncClient::connectTimeout
    \brief how long one connection attempt may take, in milliseconds: the TCP connection,
    TLS and the WebSocket handshake; 0 waits as long as the system does. Default: 10000.

    An endpoint that does not answer in time counts as down: the client tries the next
    one, or waits and tries again.
*/

/*!
    \fn void QStateSyncClient::connectTimeoutChanged()

    This signal is emitted when connectTimeout changes.
*/

/*!
    \property QStateSyncClient::heartbeatInterval
    \brief how often the client pings the server, in milliseconds; 0 turns the heartbeat
    off. Default: 15000.

    When the server sent nothing at all, not even the answer to the last ping, for a whole
    interval, the connection is taken for dead and the client reconnects.
*/

/*!
    \property QStateSyncClient::optimisticUpdates
    \brief whether the client's own updates show in its copy before the server confirms
    them. Default: \c true.

    With \c false, the copy changes only when the server's broadcast arrives, so it is
    always a value the server had. A v1 server acknowledges nothing, so the copy is never
    optimistic with it.
*/

/*!
    \property QStateSyncClient::maxQueuedUpdates
    \brief how many updates may wait for the connection. Default: 1000.
*/

/*!
    \property QStateSyncClient::pendingUpdateCount
    \brief how many updates wait for the server: queued, or sent and not acknowledged
    yet.
*/

/*!
    \fn void QStateSyncClient::urlsChanged()

    This signal is emitted when urls changes.
*/

/*!
    \fn void QStateSyncClient::currentUrlChanged()

    This signal is emitted when currentUrl changes.
*/

/*!
    \fn void QStateSyncClient::autoReconnectChanged()

    This signal is emitted when autoReconnect changes.
*/

/*!
    \fn void QStateSyncClient::reconnectDelayChanged()

    This signal is emitted when reconnectDelay changes.
*/

/*!
    \fn void QStateSyncClient::maxReconnectDelayChanged()

    This signal is emitted when maxReconnectDelay changes.
*/

/*!
    \fn void QStateSyncClient::reconnectAttemptChanged()

    This signal is emitted when reconnectAttempt changes.
*/

/*!
    \fn void QStateSyncClient::heartbeatIntervalChanged()

    This signal is emitted when heartbeatInterval changes.
*/

/*!
    \fn void QStateSyncClient::optimisticUpdatesChanged()

    This signal is emitted when optimisticUpdates changes.
*/

/*!
    \fn void QStateSyncClient::maxQueuedUpdatesChanged()

    This signal is emitted when maxQueuedUpdates changes.
*/

/*!
    \fn void QStateSyncClient::pendingUpdateCountChanged()

    This signal is emitted when pendingUpdateCount changes.
*/

/*!
    \property QStateSyncClient::clientIdentifier
    \brief the identifier the client introduces itself with (the \c identifier query
    item). Required.
*/

/*!
    \property QStateSyncClient::accessToken
    \brief the token sent with the connection (the \c token query item), for the server's
    authorization hook. May be empty.
*/

/*!
    \property QStateSyncClient::status
    \brief where the client stands.
*/

/*!
    \property QStateSyncClient::active
    \brief whether the client wants to be connected.

    Setting it to \c true opens the connection from the event loop, so that every
    property set together with it (in C++ right after, or in the same QML object
    declaration) is in place first; \c false closes it. open() and close() set it too,
    and so does the client when it gives up (the server refused it, or the connection was
    lost with autoReconnect off), so that setting it again opens anew. While active, a
    change of urls, clientIdentifier or accessToken reconnects with the new values:
    updates in flight fail with QStateSync::Error::ConnectionLost, queued ones are kept
    and sent after the rejoin. Default: \c false.
*/

/*!
    \property QStateSyncClient::stateIdentifier
    \brief the state the client joined or is joining; empty when none.

    Setting it joins that state once the client is connected (at once when it already
    is), leaving the previous one; setting it empty leaves. In QML:

    \snippet snippets/client.qml client
*/

/*!
    \fn void QStateSyncClient::activeChanged()

    This signal is emitted when active changes.
*/

/*!
    \property QStateSyncClient::version
    \brief the version of the state's value the client holds; -1 before the first join
    and with a v1 server.
*/

/*!
    \property QStateSyncClient::state
    \brief the state's value as a QQmlPropertyMap, one property per top-level key.
*/

/*!
    \property QStateSyncClient::presence
    \brief who is joined to the same state, as a list model.

    The model's own client is one of the rows. See QStateSyncPresenceModel.
*/

/*!
    \property QStateSyncClient::presenceData
    \brief the presence data this client shows to the others of its state.
    \sa setPresenceData()
*/

/*!
    \fn void QStateSyncClient::peerJoined(const QVariantMap &peer)

    This signal is emitted when another client joined the state; \a peer holds its
    presence, as QStateSyncPresenceModel::get() returns it.
*/

/*!
    \fn void QStateSyncClient::peerLeft(const QVariantMap &peer)

    This signal is emitted when another client left the state or its connection dropped;
    \a peer holds its last presence.
*/

/*!
    \fn void QStateSyncClient::peerChanged(const QVariantMap &peer)

    This signal is emitted when a client of the state (this one included) changed its
    presence data; \a peer holds its presence now.
*/

/*!
    \fn void QStateSyncClient::presenceDataChanged()

    This signal is emitted when presenceData changes.
*/

/*!
    \property QStateSyncClient::requestedProtocolVersion
    \brief the protocol the client asks for when it connects. Default: ProtocolV2.
    ProtocolV1 makes it behave exactly like a client of the original.
*/

/*!
    \property QStateSyncClient::protocolVersion
    \brief the protocol spoken on the current (or last) connection.
*/

/*!
    \property QStateSyncClient::error
    \brief the last error.
*/

/*!
    \property QStateSyncClient::errorString
    \brief a description of the last error.
*/

/*!
    \fn void QStateSyncClient::connected()

    This signal is emitted when the WebSocket opened (the original's \c onConnection()).
*/

/*!
    \fn void QStateSyncClient::disconnected()

    This signal is emitted when an open connection closed or was lost; the status then
    tells whether the client reconnects.
*/

/*!
    \fn void QStateSyncClient::joined(const QString &stateIdentifier, const QVariantMap &state)

    This signal is emitted when the server let the client join \a stateIdentifier; \a state
    is the whole value (what the original's \c connectToState() promise resolved with).
*/

/*!
    \fn void QStateSyncClient::joinFailed(const QString &stateIdentifier, QStateSync::Error error, const QString &message)

    This signal is emitted when the server refused to let the client join
    \a stateIdentifier, with \a error (for example QStateSync::Error::StateNotFound or
    QStateSync::Error::JoinRefused) and the server's \a message.
*/

/*!
    \fn void QStateSyncClient::left(const QString &stateIdentifier)

    This signal is emitted when the server confirmed that the client left \a stateIdentifier.
*/

/*!
    \fn void QStateSyncClient::stateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason)

    This signal is emitted when the joined state \a stateIdentifier was removed on the
    server, for \a reason. The client stays connected and may join another state.
*/

/*!
    \fn void QStateSyncClient::stateUpdated(const QVariantMap &updates, const QVariantMap &previousValues)

    This signal is emitted after the client's copy changed. \a updates maps every
    top-level key that changed to its new value (an invalid QVariant for a removed key);
    \a previousValues maps the same keys to the values they had before (an invalid
    QVariant where the key did not exist).
*/

/*!
    \fn void QStateSyncClient::updateAcknowledged(qint64 requestId, qint64 version)

    This signal is emitted when the server applied the update or append \a requestId and
    sent it back; the state is now at \a version. Only with protocol v2.
*/

/*!
    \fn void QStateSyncClient::updateFailed(qint64 requestId, QStateSync::Error error, const QString &message)

    This signal is emitted when the update or append \a requestId was not applied: the
    server refused it with \a error and \a message, or the connection closed or the state
    went away before it was acknowledged.
*/

/*!
    \fn void QStateSyncClient::errorOccurred(QStateSync::Error error, const QString &message)

    This signal is emitted for every error, with its code \a error and a description,
    \a message (the original's \c onError()).
*/

/*!
    \fn void QStateSyncClient::urlChanged()

    This signal is emitted when url changes.
*/

/*!
    \fn void QStateSyncClient::clientIdentifierChanged()

    This signal is emitted when clientIdentifier changes.
*/

/*!
    \fn void QStateSyncClient::accessTokenChanged()

    This signal is emitted when accessToken changes.
*/

/*!
    \fn void QStateSyncClient::statusChanged()

    This signal is emitted when status changes.
*/

/*!
    \fn void QStateSyncClient::stateIdentifierChanged()

    This signal is emitted when stateIdentifier changes.
*/

/*!
    \fn void QStateSyncClient::versionChanged()

    This signal is emitted when version changes.
*/

/*!
    \fn void QStateSyncClient::requestedProtocolVersionChanged()

    This signal is emitted when requestedProtocolVersion changes.
*/

/*!
    \fn void QStateSyncClient::protocolVersionChanged()

    This signal is emitted when protocolVersion changes.
*/

/*!
    \fn void QStateSyncClient::errorChanged()

    This signal is emitted when error or errorString change.
*/

/*!
    Constructs a client with the given \a parent. Set url and clientIdentifier before
    open().
*/
QStateSyncClient::QStateSyncClient(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<QStateSyncClientPrivate>(this))
{ }

/*!
    Constructs a client of the server at \a url that introduces itself as
    \a clientIdentifier with \a accessToken, with the given \a parent: the arguments of
    the original's \c{new Client(endpoint, clientIdentifier, accessToken)}. It does not
    connect until open() or connectToState().
*/
QStateSyncClient::QStateSyncClient(const QUrl &url, const QString &clientIdentifier,
                                   const QString &accessToken, QObject *parent)
    : QStateSyncClient(parent)
{
    d->urls = {url};
    d->clientIdentifier = clientIdentifier;
    d->accessToken = accessToken;
}

/*!
    Closes the connection and destroys the client.
*/
QStateSyncClient::~QStateSyncClient() = default;

QUrl QStateSyncClient::url() const
{
    return d->urls.value(0);
}

void QStateSyncClient::setUrl(const QUrl &url)
{
    setUrls(url.isEmpty() ? QList<QUrl>() : QList<QUrl>{url});
}

QList<QUrl> QStateSyncClient::urls() const
{
    return d->urls;
}

void QStateSyncClient::setUrls(const QList<QUrl> &urls)
{
    if (d->urls == urls)
        return;
    const QUrl first = url();
    const QUrl current = currentUrl();
    d->urls = urls;
    d->endpointIndex = 0;
    d->roundStart = 0;
    Q_EMIT urlsChanged();
    if (url() != first)
        Q_EMIT urlChanged();
    if (currentUrl() != current)
        Q_EMIT currentUrlChanged();
    d->reconnectIfActive();
}

QUrl QStateSyncClient::currentUrl() const
{
    return d->currentUrl();
}

bool QStateSyncClient::autoReconnect() const
{
    return d->autoReconnect;
}

void QStateSyncClient::setAutoReconnect(bool enabled)
{
    if (d->autoReconnect == enabled)
        return;
    d->autoReconnect = enabled;
    Q_EMIT autoReconnectChanged();
    if (!enabled && d->status == Reconnecting) {
        // Nothing will send what waits any more.
        d->close();
        d->setActive(false);
    }
}

int QStateSyncClient::reconnectDelay() const
{
    return d->reconnectDelay;
}

void QStateSyncClient::setReconnectDelay(int milliseconds)
{
    milliseconds = std::max(0, milliseconds);
    if (d->reconnectDelay == milliseconds)
        return;
    d->reconnectDelay = milliseconds;
    Q_EMIT reconnectDelayChanged();
}

int QStateSyncClient::maxReconnectDelay() const
{
    return d->maxReconnectDelay;
}

void QStateSyncClient::setMaxReconnectDelay(int milliseconds)
{
    milliseconds = std::max(0, milliseconds);
    if (d->maxReconnectDelay == milliseconds)
        return;
    d->maxReconnectDelay = milliseconds;
    Q_EMIT maxReconnectDelayChanged();
}

int QStateSyncClient::reconnectAttempt() const
{
    return d->reconnectAttempt;
}

int QStateSyncClient::connectTimeout() const
{
    return d->connectTimeout;
}

void QStateSyncClient::setConnectTimeout(int milliseconds)
{
    milliseconds = std::max(0, milliseconds);
    if (d->connectTimeout == milliseconds)
        return;
    d->connectTimeout = milliseconds;
    Q_EMIT connectTimeoutChanged();
}

int QStateSyncClient::heartbeatInterval() const
{
    return d->heartbeatInterval;
}

void QStateSyncClient::setHeartbeatInterval(int milliseconds)
{
    milliseconds = std::max(0, milliseconds);
    if (d->heartbeatInterval == milliseconds)
        return;
    d->heartbeatInterval = milliseconds;
    Q_EMIT heartbeatIntervalChanged();
    if (milliseconds == 0)
        d->heartbeatTimer->stop();
    else if (d->heartbeatTimer->isActive())
        d->heartbeatTimer->start(milliseconds);
    else if (d->socket->state() == QAbstractSocket::ConnectedState)
        d->heartbeatTimer->start(milliseconds);
}

bool QStateSyncClient::optimisticUpdates() const
{
    return d->optimisticUpdates;
}

void QStateSyncClient::setOptimisticUpdates(bool enabled)
{
    if (d->optimisticUpdates == enabled)
        return;
    d->optimisticUpdates = enabled;
    d->setOptimistic(enabled);
    Q_EMIT optimisticUpdatesChanged();
}

int QStateSyncClient::maxQueuedUpdates() const
{
    return d->maxQueuedUpdates;
}

void QStateSyncClient::setMaxQueuedUpdates(int count)
{
    count = std::max(0, count);
    if (d->maxQueuedUpdates == count)
        return;
    d->maxQueuedUpdates = count;
    Q_EMIT maxQueuedUpdatesChanged();
}

int QStateSyncClient::pendingUpdateCount() const
{
    return d->copy.pendingCount();
}

QString QStateSyncClient::clientIdentifier() const
{
    return d->clientIdentifier;
}

void QStateSyncClient::setClientIdentifier(const QString &clientIdentifier)
{
    if (d->clientIdentifier == clientIdentifier)
        return;
    d->clientIdentifier = clientIdentifier;
    Q_EMIT clientIdentifierChanged();
    d->reconnectIfActive();
}

QString QStateSyncClient::accessToken() const
{
    return d->accessToken;
}

void QStateSyncClient::setAccessToken(const QString &accessToken)
{
    if (d->accessToken == accessToken)
        return;
    d->accessToken = accessToken;
    Q_EMIT accessTokenChanged();
    d->reconnectIfActive();
}

QStateSyncClient::ProtocolVersion QStateSyncClient::requestedProtocolVersion() const
{
    return d->requestedProtocol;
}

void QStateSyncClient::setRequestedProtocolVersion(ProtocolVersion version)
{
    if (d->requestedProtocol == version)
        return;
    d->requestedProtocol = version;
    Q_EMIT requestedProtocolVersionChanged();
}

/*!
    Sets the TLS configuration used for \c wss URLs to \a configuration, for example to
    trust a private certificate authority with QSslConfiguration::setCaCertificates().
*/
void QStateSyncClient::setSslConfiguration(const QSslConfiguration &configuration)
{
    d->sslConfiguration = configuration;
}

/*!
    Returns the TLS configuration set with setSslConfiguration().
*/
QSslConfiguration QStateSyncClient::sslConfiguration() const
{
    return d->sslConfiguration;
}

QStateSyncClient::Status QStateSyncClient::status() const
{
    return d->status;
}

QString QStateSyncClient::stateIdentifier() const
{
    return d->desiredState;
}

qint64 QStateSyncClient::version() const
{
    return d->copy.version();
}

QStateSyncClient::ProtocolVersion QStateSyncClient::protocolVersion() const
{
    return d->protocol;
}

QStateSync::Error QStateSyncClient::error() const
{
    return d->error;
}

QString QStateSyncClient::errorString() const
{
    return d->errorString;
}

/*!
    Returns the state's value as the client holds it (the original's \c getState()): the
    server's value as of version(), with the client's own updates that the server has not
    confirmed yet on top (see optimisticUpdates).
*/
QVariantMap QStateSyncClient::value() const
{
    return d->copy.value().toVariantMap();
}

/*!
    Returns the state's value as JSON.
*/
QJsonObject QStateSyncClient::jsonValue() const
{
    return d->copy.value();
}

/*!
    Returns the server's value of the state as of version(): value() without the
    client's own updates that the server has not acknowledged yet. Equal to value() when
    pendingUpdateCount is 0.
*/
QVariantMap QStateSyncClient::serverValue() const
{
    return d->copy.serverValue().toVariantMap();
}

/*!
    Returns serverValue() as JSON.
*/
QJsonObject QStateSyncClient::jsonServerValue() const
{
    return d->copy.serverValue();
}

QQmlPropertyMap *QStateSyncClient::state() const
{
    return d->map;
}

QStateSyncPresenceModel *QStateSyncClient::presence() const
{
    return d->presence;
}

QVariantMap QStateSyncClient::presenceData() const
{
    return d->presenceData;
}

/*!
    Sets \a data as what the other clients of the joined state see of this client, next to the
    public information the server chose: for example a cursor position or whether it is
    typing. The data is sent at once when the client is joined, and again each time it
    joins a state; it is not part of the state's value and has no version. Other clients
    see it in their presence() model and through peerChanged(). Needs protocol v2.
*/
void QStateSyncClient::setPresenceData(const QVariantMap &data)
{
    if (d->presenceData == data)
        return;
    d->presenceData = data;
    if (!d->joinedState.isEmpty() && d->protocol == ProtocolV2) {
        d->socket->sendTextMessage(
                QString::fromUtf8(encodeSetPresence(QJsonObject::fromVariantMap(data))));
    }
    Q_EMIT presenceDataChanged();
}

/*!
    Sends \a updates to be merged into the joined state and returns the request id.

    While the client is on its way to a state (connecting, joining or reconnecting) the
    update waits in the queue. It returns -1 when the client is not on its way to any state
    (errorOccurred() then reports QStateSync::Error::NotConnected) or when the queue is
    full (QStateSync::Error::QueueFull).
*/
qint64 QStateSyncClient::updateState(const QJsonObject &updates)
{
    return d->sendChange(MessageType::UpdateState, updates);
}

/*!
    \overload
    Sends \a updates, converted to JSON.
*/
qint64 QStateSyncClient::updateState(const QVariantMap &updates)
{
    return updateState(QJsonObject::fromVariantMap(updates));
}

/*!
    Sets the nested value at \a path (object keys, or indexes into arrays) to \a value and
    returns the request id, or -1 when \a path is empty or the client has not joined.

    With a deep-merging state only the path is sent (down to the first array on the way,
    which is sent whole); with a shallow state or a v1 server the whole top-level value
    is sent. With a deep-merging state a null \a value deletes the key, and an object
    \a value is merged into the object at \a path (it travels as a merge patch), so keys it
    does not name stay; to replace an object, set the keys to drop to null as well.

    \snippet snippets/client.cpp nested
*/
qint64 QStateSyncClient::setValueAt(const QStringList &path, const QVariant &value)
{
    if (path.isEmpty()) {
        const QString message = QStringLiteral("setValueAt() needs a path");
        d->setError(QStateSync::Error::InvalidMessage, message);
        Q_EMIT errorOccurred(QStateSync::Error::InvalidMessage, message);
        return -1;
    }
    const QJsonValue replacement = jsonFromVariant(value);
    const bool deep
            = d->protocol == ProtocolV2 && d->copy.mergeMode() == QStateSync::MergeMode::Deep;
    const QJsonObject &current = d->copy.value();
    const QJsonObject updates = deep
            ? QStateSyncMerge::patchAt(current, path, replacement)
            : QJsonObject{{path.first(),
                           QStateSyncMerge::setAt(current.value(path.first()), path.mid(1),
                                                  replacement)}};
    return updateState(updates);
}

/*!
    Appends \a items to the array at \a key of the joined state, atomically: appends that
    clients send at the same moment are all kept. A missing key starts an empty array.
    Returns the request id, or -1 when the client has not joined a state.
*/
qint64 QStateSyncClient::append(const QString &key, const QJsonArray &items)
{
    return d->sendChange(MessageType::AppendToState, QJsonObject{{key, items}});
}

/*!
    \overload
    Appends the single \a item to the array at \a key.
*/
qint64 QStateSyncClient::append(const QString &key, const QVariant &item)
{
    return append(key, QJsonArray{jsonFromVariant(item)});
}

/*!
    Appends each of \a items to the array at \a key.
*/
qint64 QStateSyncClient::appendItems(const QString &key, const QVariantList &items)
{
    QJsonArray array;
    for (const QVariant &item : items)
        array.append(jsonFromVariant(item));
    return append(key, array);
}

/*!
    Calls \a listener after every change of the client's copy that touches one of
    \a properties (top-level keys; an empty list means every change), with the new values
    and the previous values of the changed keys, as stateUpdated() describes. A listener
    added with the identifier \a listenerIdentifier of an existing one replaces it.
*/
void QStateSyncClient::addStateUpdateListener(const QString &listenerIdentifier,
                                              const StateUpdateListener &listener,
                                              const QStringList &properties)
{
    for (auto &existing : d->listeners) {
        if (existing.identifier == listenerIdentifier) {
            existing.callback = listener;
            existing.properties = properties;
            return;
        }
    }
    d->listeners.append({listenerIdentifier, listener, properties});
}

/*!
    Removes the listener \a listenerIdentifier. Returns \c false when there was none.
*/
bool QStateSyncClient::removeStateUpdateListener(const QString &listenerIdentifier)
{
    return d->listeners.removeIf([&](const QStateSyncClientPrivate::Listener &listener) {
        return listener.identifier == listenerIdentifier;
    }) > 0;
}

/*!
    Opens the connection. connected() follows, or errorOccurred() with
    QStateSync::Error::Unauthorized when the server refused the client, or
    QStateSync::Error::ConnectionFailed.
*/
void QStateSyncClient::open()
{
    d->setActive(true);
    d->open();
}

/*!
    Closes the connection and stops reconnecting. The client keeps the last value it had.
    Every update not acknowledged yet, queued or sent, fails with
    QStateSync::Error::ConnectionFailed (those sent may have been applied).
*/
void QStateSyncClient::close()
{
    d->setActive(false);
    d->close();
}

bool QStateSyncClient::isActive() const
{
    return d->active;
}

void QStateSyncClient::setActive(bool active)
{
    if (d->active == active)
        return;
    d->setActive(active);
    if (active)
        d->scheduleOpen();
    else
        d->close();
}

void QStateSyncClient::setStateIdentifier(const QString &stateIdentifier)
{
    if (stateIdentifier == d->desiredState)
        return;
    if (stateIdentifier.isEmpty()) {
        const bool inState = d->status == Joined || d->status == Joining;
        // A v1 server cannot leave: leaveState() reports it, and the client stays.
        if (inState && d->protocol == ProtocolV1) {
            leaveState();
            return;
        }
        leaveState();
        d->setDesiredState(QString());
    } else if (d->status == Connected || d->status == Joining || d->status == Joined) {
        connectToState(stateIdentifier);
    } else {
        // Joined as soon as the client connects.
        d->setDesiredState(stateIdentifier);
    }
}

/*!
    Joins the state \a stateIdentifier, leaving the one joined before (once the server
    accepted the new one); opens the connection first if needed. joined() follows with
    the whole value, or joinFailed() with the reason.
*/
void QStateSyncClient::connectToState(const QString &stateIdentifier)
{
    d->setDesiredState(stateIdentifier);
    if (d->status == Connected || d->status == Joining || d->status == Joined)
        d->join(stateIdentifier);
    else if (d->status != Connecting && d->status != Reconnecting)
        open();
}

/*!
    Leaves the joined state; left() follows. Updates queued for a state the client was
    still joining or rejoining fail with QStateSync::Error::NotJoined; those sent fail the
    same way when the server confirms the leave. Needs protocol v2: with a v1 server,
    errorOccurred() reports QStateSync::Error::UnsupportedMessageType and nothing changes.
*/
void QStateSyncClient::leaveState()
{
    if (d->status == Connecting || d->status == Reconnecting) {
        // Not connected: nothing to tell the server, only the (re)join to call off.
        const QString previous = d->desiredState;
        d->setDesiredState(QString());
        d->failPending(QStateSync::Error::NotJoined,
                       QStringLiteral("The client left the state before the update was sent"),
                       previous, false);
        return;
    }
    if (d->protocol == ProtocolV1) {
        const QString message = QStringLiteral("A v1 server cannot leave a state");
        d->setError(QStateSync::Error::UnsupportedMessageType, message);
        Q_EMIT errorOccurred(QStateSync::Error::UnsupportedMessageType, message);
        return;
    }
    if (d->status != Joining && d->status != Joined)
        return;
    const QString abandoned = d->desiredState;
    d->setDesiredState(QString());
    d->sendText(QStateSyncProtocol::encodeLeaveState());
    if (d->joinedState.isEmpty())
        d->setStatus(Connected);
    // A join still on its way is called off: what waited for it will not be sent.
    if (abandoned != d->joinedState) {
        d->failWhere(
                [&](const QStateSyncLocalCopy::Operation &operation) {
                    return !operation.sent && operation.stateIdentifier == abandoned;
                },
                QStateSync::Error::NotJoined,
                QStringLiteral("The client left before the state it was joining let it in"));
    }
}
