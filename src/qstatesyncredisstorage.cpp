// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncredisstorage.h"
#include "qstatesyncredisstorage_p.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncredisscripts_p.h"

#include <QtCore/qrandom.h>
#include <QtCore/quuid.h>

#include <algorithm>
#include <limits>

using namespace QStateSyncRedis;

/*!
    \class QStateSyncRedisStorage
    \inmodule QStateSync
    \brief Shares a QStateSyncer's states with other servers through a Redis server.

    Several servers (the nodes of a cluster, for example several qstatesyncd processes)
    given QStateSyncRedisStorage objects with the same Redis server and keyPrefix share
    their states: a client of any node can join any state, every client sees the changes of
    a state in one order, and each change has one version, the same on every node.

    The value and version of each state live in Redis. A node follows the states its
    clients joined: it hears their changes, and sends its clients' changes, after the hooks
    of this node ran on them, to Redis, where a script applies them only if the state is
    still at the version the node merged them on, and publishes them to the nodes that
    follow the state. A client's update is acknowledged once Redis applied it: a node that
    goes away loses nothing that was acknowledged. How much survives a restart of Redis
    itself depends on Redis' persistence (see the deployment guide: with
    \c{appendonly yes} and \c{appendfsync always}, every acknowledged update survives).

    The node reconnects when it loses Redis, follows its states again and brings its
    clients up to date with a snapshot. While Redis is away, changes wait in the node (at
    most 10,000 per state; past that they are refused with
    QStateSync::Error::StorageFailed).

    States are created and removed cluster-wide. A state another node created appears on
    this one (QStateSyncer::stateCreated() is emitted) but stays closed to clients, as a
    state brought back from storage does, until this node's application creates it too
    with QStateSyncer::createState(): that gives it this node's hooks and filters and takes
    over the cluster's value and version (and the merge mode the state was created with,
    which every node must share). A removal that Redis cannot make is not made on the node
    either: QStateSyncer::removeState() returns \c false. A ttl removes a state once,
    whichever node's timer fires first, and selfDestruct counts the clients on every node
    that is alive.

    Creating, removing and reading a state for QStateSyncer::createState(), and counting
    the clients of a state that can self-destruct when one joins or leaves, wait for Redis'
    answer (at most a second each); changes, joins and everything else do not block.
    QStateSyncer::valueOfState() on a node that does not follow the state (none of its
    clients joined it) gives the value the node last knew.

    \sa QStateSyncer::setStorage(), QStateSyncSqliteStorage
*/

/*!
    \property QStateSyncRedisStorage::hostName
    \brief the host name or address of the Redis server; \c 127.0.0.1 by default.

    It cannot change while the storage is attached.
*/

/*!
    \property QStateSyncRedisStorage::port
    \brief the port of the Redis server; 6379 by default.

    It cannot change while the storage is attached.
*/

/*!
    \property QStateSyncRedisStorage::keyPrefix
    \brief what the names of the storage's keys and channels in Redis start with;
    \c{qstatesync:} by default.

    Nodes with the same prefix share their states; another prefix makes another cluster on
    the same Redis server. It cannot change while the storage is attached.
*/

/*!
    \property QStateSyncRedisStorage::nodeIdentifier
    \brief this node's name in the cluster; a new UUID by default.

    Every node sharing a Redis server and keyPrefix must have its own name. It cannot
    change while the storage is attached.
*/

/*!
    \property QStateSyncRedisStorage::connected
    \brief whether the storage has its connections to Redis.

    While it does not, the node's clients stay joined, and their changes wait to be sent
    until it reconnects.
*/

/*!
    \fn void QStateSyncRedisStorage::hostNameChanged()

    This signal is emitted when hostName changes.
*/
/*!
    \fn void QStateSyncRedisStorage::portChanged()

    This signal is emitted when port changes.
*/
/*!
    \fn void QStateSyncRedisStorage::keyPrefixChanged()

    This signal is emitted when keyPrefix changes.
*/
/*!
    \fn void QStateSyncRedisStorage::nodeIdentifierChanged()

    This signal is emitted when nodeIdentifier changes.
*/
/*!
    \fn void QStateSyncRedisStorage::connectedChanged()

    This signal is emitted when the storage connects to Redis or loses its connection.
*/

/*!
    Constructs a storage with \a parent for the Redis server on 127.0.0.1, port 6379.
*/
QStateSyncRedisStorage::QStateSyncRedisStorage(QObject *parent)
    : QStateSyncStorage(std::make_unique<QStateSyncRedisStoragePrivate>(), parent)
{ }

/*!
    Destroys the storage; the node leaves the cluster.
*/
QStateSyncRedisStorage::~QStateSyncRedisStorage()
{
    auto *d = d_func();
    // The server hears of the end from destroyed(): nothing calls it back from here on.
    d->clearCallbacks();
    d->close();
}

QStateSyncRedisStoragePrivate *QStateSyncRedisStorage::d_func() const
{
    return static_cast<QStateSyncRedisStoragePrivate *>(d_ptr.get());
}

namespace {
template<typename T, typename Signal>
void setWhileDetached(QStateSyncRedisStoragePrivate *d, T &member, const T &value,
                      QStateSyncRedisStorage *q, Signal changed, const char *what)
{
    if (member == value)
        return;
    if (d->attached) {
        qCWarning(lcStateSyncStorage, "the %s of an attached storage cannot change", what);
        return;
    }
    member = value;
    Q_EMIT(q->*changed)();
}
} // namespace

QString QStateSyncRedisStorage::hostName() const
{
    return d_func()->hostName;
}

void QStateSyncRedisStorage::setHostName(const QString &hostName)
{
    setWhileDetached(d_func(), d_func()->hostName, hostName, this,
                     &QStateSyncRedisStorage::hostNameChanged, "host name");
}

int QStateSyncRedisStorage::port() const
{
    return d_func()->port;
}

void QStateSyncRedisStorage::setPort(int port)
{
    if (port < 1 || port > 65535) {
        qCWarning(lcStateSyncStorage, "%d is not a port: not changed", port);
        return;
    }
    setWhileDetached(d_func(), d_func()->port, port, this, &QStateSyncRedisStorage::portChanged,
                     "port");
}

QString QStateSyncRedisStorage::keyPrefix() const
{
    return d_func()->keyPrefix;
}

void QStateSyncRedisStorage::setKeyPrefix(const QString &prefix)
{
    setWhileDetached(d_func(), d_func()->keyPrefix, prefix, this,
                     &QStateSyncRedisStorage::keyPrefixChanged, "key prefix");
}

QString QStateSyncRedisStorage::nodeIdentifier() const
{
    return d_func()->node;
}

void QStateSyncRedisStorage::setNodeIdentifier(const QString &identifier)
{
    if (identifier.isEmpty()) {
        qCWarning(lcStateSyncStorage, "a node needs a name: not changed");
        return;
    }
    setWhileDetached(d_func(), d_func()->node, identifier, this,
                     &QStateSyncRedisStorage::nodeIdentifierChanged, "node identifier");
}

bool QStateSyncRedisStorage::isConnected() const
{
    return d_func()->connected;
}

QStateSyncRedisStoragePrivate::QStateSyncRedisStoragePrivate()
    : node(QUuid::createUuid().toString(QUuid::WithoutBraces))
    // Tokens of a node restarted under the same name must not meet the ones its previous
    // run recorded: each run starts at a random point. Below 2^52, so that Lua's numbers
    // (doubles) compare them exactly.
    , nextToken(quint64(QRandomGenerator::system()->bounded(1u << 20)) << 32)
{ }

QStateSyncRedisStoragePrivate::~QStateSyncRedisStoragePrivate() = default;

QStateSyncSharedStorage::~QStateSyncSharedStorage() = default;

QStateSyncRedisStorage *QStateSyncRedisStoragePrivate::publicObject() const
{
    return static_cast<QStateSyncRedisStorage *>(q);
}

QByteArray QStateSyncRedisStoragePrivate::key(const char *kind, const QString &identifier) const
{
    return keyPrefix.toUtf8() + kind + identifier.toUtf8();
}

bool QStateSyncRedisStoragePrivate::open(QList<QStateSyncStoredState> *states)
{
    using namespace QStateSyncRedis;
    blocking.setServer(hostName, quint16(port), BlockingTimeout);
    const QStateSyncRedisReply reply = blocking.command(
            {"EVAL", QStateSyncRedisScripts::Load, "1", key("states"), key("state:")});
    if (reply.isError() || reply.type != QStateSyncRedisReply::Array) {
        reportError(QStringLiteral("Cannot read the states from Redis at %1:%2: %3")
                            .arg(hostName)
                            .arg(port)
                            .arg(reply.errorText()));
        blocking.close();
        return false;
    }
    for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        QStateSyncStoredState state;
        const QString identifier = QString::fromUtf8(reply.elements[i].string);
        if (QStateSyncRedis::readState(identifier, reply.elements[i + 1], nullptr, &state))
            states->append(state);
        else
            qCWarning(lcStateSyncStorage).noquote()
                    << "Redis lists state" << identifier << "without its version: left out";
    }
    opened = true;
    if (!reconnectTimer) {
        reconnectTimer = new QTimer(q);
        reconnectTimer->setSingleShot(true);
        QObject::connect(reconnectTimer, &QTimer::timeout, q, [this] { connectToRedis(); });
        livenessTimer = new QTimer(q);
        livenessTimer->setInterval(LivenessRenewal);
        QObject::connect(livenessTimer, &QTimer::timeout, q, [this] { renewLiveness(); });
    }
    // The node counts as alive from now on, before its first clients join. Another node
    // alive under the same name would share this one's client counts.
    const QStateSyncRedisReply marked
            = blocking.command({"SET", key("node:", node), "1", "NX", "PX", number(LivenessTime)});
    if (marked.type == QStateSyncRedisReply::Nil) {
        qCWarning(lcStateSyncStorage).noquote()
                << "a node named" << node
                << "was alive less than 10 s ago: if it still runs, give each node its own name";
        blocking.command({"SET", key("node:", node), "1", "PX", number(LivenessTime)});
    }
    livenessTimer->start();
    connectToRedis();
    qCInfo(lcStateSyncStorage).noquote() << "node" << node << "joined the cluster at"
                                         << QStringLiteral("%1:%2 (states in Redis: %3)")
                                                    .arg(hostName)
                                                    .arg(port)
                                                    .arg(states->size());
    return true;
}

quint64 QStateSyncRedisStoragePrivate::close()
{
    constexpr quint64 everything = std::numeric_limits<quint64>::max();
    if (!opened)
        return everything;
    opened = false;
    reconnectTimer->stop();
    livenessTimer->stop();
    // Leave the cluster in one command: this node's clients no longer count.
    QList<QByteArray> leave{
            "EVAL",       QStateSyncRedisScripts::Leave, "1", key("node:", node), key("clients:"),
            node.toUtf8()};
    for (const QString &identifier : std::as_const(followed))
        leave.append(identifier.toUtf8());
    blocking.command(leave);
    blocking.close();
    followed.clear();
    fetchFences.clear();
    dropConnections();
    setConnected(false);
    return everything;
}

void QStateSyncRedisStoragePrivate::dropConnections()
{
    // What waited for an answer hears it is unknown.
    for (QStateSyncRedisConnection *connection : {commands.data(), subscriber.data()}) {
        if (connection) {
            QObject::disconnect(connection, nullptr, q, nullptr);
            connection->abort();
            connection->deleteLater();
        }
    }
    commands = nullptr;
    subscriber = nullptr;
    subscriptionsSent = false;
}

void QStateSyncRedisStoragePrivate::setConnected(bool now)
{
    if (connected == now)
        return;
    connected = now;
    Q_EMIT publicObject()->connectedChanged();
}

void QStateSyncRedisStoragePrivate::connectToRedis()
{
    if (!opened)
        return;
    commands = new QStateSyncRedisConnection(q);
    subscriber = new QStateSyncRedisConnection(q);
    subscriber->setMessageHandler([this](const QByteArray &channel, const QByteArray &message) {
        received(channel, message);
    });
    for (QStateSyncRedisConnection *connection : {commands.data(), subscriber.data()}) {
        QObject::connect(connection, &QStateSyncRedisConnection::connected, q, [this] {
            if (commands && commands->isConnected() && subscriber && subscriber->isConnected())
                bothConnected();
        });
        QObject::connect(connection, &QStateSyncRedisConnection::disconnected, q,
                         [this](const QString &error) { connectionLost(error); });
        connection->connectToServer(hostName, quint16(port));
    }
    QObject::connect(subscriber, &QStateSyncRedisConnection::subscribed, q,
                     [this](const QByteArray &channel) { subscribedTo(channel); });
}

void QStateSyncRedisStoragePrivate::bothConnected()
{
    livenessAnswered = true;
    QList<QByteArray> channels{key("events")};
    for (const QString &identifier : std::as_const(followed))
        channels.append(key("changes:", identifier));
    subscriber->subscribe(channels);
    subscriptionsSent = true;
    renewLiveness();
}

void QStateSyncRedisStoragePrivate::subscribedTo(const QByteArray &channel)
{
    if (channel == key("events")) {
        // Connected for good: Redis takes commands (a subscription refused, or a Redis that
        // drops the connection at once, starts the backoff over from where it was).
        const bool again = !lastError.isEmpty();
        if (again)
            qCInfo(lcStateSyncStorage).noquote() << "node" << node << "is connected to Redis again";
        lastError.clear();
        reconnectDelay = 0;
        setConnected(true);
        if (again && reconnected)
            reconnected();
        listStates();
        return;
    }
    const QByteArray prefix = key("changes:");
    if (!channel.startsWith(prefix))
        return;
    const QString identifier = QString::fromUtf8(channel.mid(prefix.size()));
    // Subscribed first, read second: no change falls in between.
    if (followed.contains(identifier))
        fetch(identifier);
}

void QStateSyncRedisStoragePrivate::connectionLost(const QString &error)
{
    if (!opened)
        return;
    if (error != lastError) {
        // One line per cause, not per attempt.
        reportError(QStringLiteral("Lost the connection to Redis at %1:%2: %3")
                            .arg(hostName)
                            .arg(port)
                            .arg(error));
        lastError = error.isEmpty() ? QStringLiteral("disconnected") : error;
    }
    setConnected(false);
    dropConnections();
    if (reconnectTimer->isActive())
        return;
    reconnectDelay = reconnectDelay == 0 ? FirstReconnectDelay
                                         : std::min(reconnectDelay * 2, MostReconnectDelay);
    reconnectTimer->start(reconnectDelay);
}

void QStateSyncRedisStoragePrivate::renewLiveness()
{
    if (!commands || !commands->isConnected())
        return;
    // A Redis that keeps the connection but does not answer (stopped, or a network that
    // drops everything) is found here: the last renewal is still unanswered.
    if (!livenessAnswered) {
        connectionLost(QStringLiteral("Redis did not answer for %1 ms").arg(LivenessRenewal));
        return;
    }
    livenessAnswered = false;
    const QPointer<QObject> guard(q);
    commands->command({"SET", key("node:", node), "1", "PX", QStateSyncRedis::number(LivenessTime)},
                      [this, guard](const QStateSyncRedisReply &reply) {
                          if (guard && reply.type != QStateSyncRedisReply::None)
                              livenessAnswered = true;
                      });
}
