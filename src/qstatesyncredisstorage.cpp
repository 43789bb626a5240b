// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncredisstorage.h"
#include "qstatesyncredisstorage_p.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncredisscripts_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/quuid.h>

#include <algorithm>

namespace {
// How long a blocking command (creating, removing a state) may take.
constexpr int BlockingTimeout = 2000;
// A node that has not renewed its mark for this long counts as gone.
constexpr int LivenessTime = 10000;
constexpr int LivenessRenewal = 3000;
// Reconnecting waits this long at first, twice as long after each failure, up to the most.
constexpr int FirstReconnectDelay = 100;
constexpr int MostReconnectDelay = 2000;

QByteArray number(qint64 value)
{
    return QByteArray::number(value);
}

qint64 toNumber(const QStateSyncRedisReply &reply)
{
    return reply.type == QStateSyncRedisReply::Integer ? reply.integer : reply.string.toLongLong();
}

// meta: {version, mode, created, ttl[, token]}; values: {key, JSON, ...}.
bool readState(const QString &identifier, const QStateSyncRedisReply &meta,
               const QStateSyncRedisReply *values, QStateSyncStoredState *state,
               quint64 *token = nullptr)
{
    if (meta.type != QStateSyncRedisReply::Array || meta.elements.size() < 4
        || meta.elements[0].type != QStateSyncRedisReply::String)
        return false;
    state->identifier = identifier;
    state->version = toNumber(meta.elements[0]);
    state->mergeMode = meta.elements[1].string == "shallow" ? QStateSync::MergeMode::Shallow
                                                            : QStateSync::MergeMode::Deep;
    state->createdAt = toNumber(meta.elements[2]);
    state->ttlDeadline = toNumber(meta.elements[3]);
    if (token)
        *token = meta.elements.size() > 4 ? meta.elements[4].string.toULongLong() : 0;
    state->value = QJsonObject();
    if (!values)
        return true;
    for (size_t i = 0; i + 1 < values->elements.size(); i += 2) {
        QJsonParseError error;
        const QByteArray wrapped = "[" + values->elements[i + 1].string + "]";
        const QJsonDocument document = QJsonDocument::fromJson(wrapped, &error);
        if (error.error != QJsonParseError::NoError || !document.isArray())
            return false;
        state->value.insert(QString::fromUtf8(values->elements[i].string), document.array().at(0));
    }
    return true;
}

QByteArray encodeKind(QStateSyncUpdateRequest::Kind kind)
{
    return kind == QStateSyncUpdateRequest::Append ? QByteArrayLiteral("a")
                                                   : QByteArrayLiteral("u");
}
} // namespace

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
    clients up to date with a snapshot. States are created and removed cluster-wide: a state
    created on one node appears on the others (without the hooks, which are the creating
    application's code), a ttl removes a state once, whichever node's timer fires first, and
    selfDestruct counts the clients on every node that is alive.

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
    d_func()->close();
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
        if (readState(identifier, reply.elements[i + 1], nullptr, &state))
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
    qCInfo(lcStateSyncStorage).noquote()
            << "node" << node << "shares" << states->size() << "states through Redis at"
            << QStringLiteral("%1:%2").arg(hostName).arg(port);
    return true;
}

void QStateSyncRedisStoragePrivate::close()
{
    if (!opened)
        return;
    opened = false;
    reconnectTimer->stop();
    livenessTimer->stop();
    // Leave the cluster: this node's clients no longer count.
    for (const QString &identifier : std::as_const(followed))
        blocking.command({"HDEL", key("clients:", identifier), node.toUtf8()});
    blocking.command({"DEL", key("node:", node)});
    blocking.close();
    followed.clear();
    for (QStateSyncRedisConnection *connection : {commands.data(), subscriber.data()}) {
        if (connection) {
            QObject::disconnect(connection, nullptr, q, nullptr);
            connection->abort();
            connection->deleteLater();
        }
    }
    commands = nullptr;
    subscriber = nullptr;
    setConnected(false);
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
                     [this](const QByteArray &channel) {
                         if (channel == key("events")) {
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
                     });
}

void QStateSyncRedisStoragePrivate::bothConnected()
{
    const bool again = !lastError.isEmpty();
    if (again)
        qCInfo(lcStateSyncStorage).noquote() << "node" << node << "is connected to Redis again";
    lastError.clear();
    reconnectDelay = 0;
    QList<QByteArray> channels{key("events")};
    for (const QString &identifier : std::as_const(followed))
        channels.append(key("changes:", identifier));
    subscriber->subscribe(channels);
    renewLiveness();
    setConnected(true);
    if (again && reconnected)
        reconnected();
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
    // Both connections go: what waited for an answer hears it is unknown.
    for (QStateSyncRedisConnection *connection : {commands.data(), subscriber.data()}) {
        if (connection) {
            QObject::disconnect(connection, nullptr, q, nullptr);
            connection->abort();
            connection->deleteLater();
        }
    }
    commands = nullptr;
    subscriber = nullptr;
    if (reconnectTimer->isActive())
        return;
    reconnectDelay = reconnectDelay == 0 ? FirstReconnectDelay
                                         : std::min(reconnectDelay * 2, MostReconnectDelay);
    reconnectTimer->start(reconnectDelay);
}

void QStateSyncRedisStoragePrivate::listStates()
{
    // States created while this node did not listen (it was starting, or away) are only
    // in the list.
    if (!commands || !commands->isConnected())
        return;
    commands->command({"EVAL", QStateSyncRedisScripts::Load, "1", key("states"), key("state:")},
                      [this](const QStateSyncRedisReply &reply) {
                          if (reply.type != QStateSyncRedisReply::Array || !createdElsewhere)
                              return;
                          for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
                              QStateSyncStoredState state;
                              if (readState(QString::fromUtf8(reply.elements[i].string),
                                            reply.elements[i + 1], nullptr, &state))
                                  createdElsewhere(state);
                          }
                      });
}

void QStateSyncRedisStoragePrivate::renewLiveness()
{
    if (commands && commands->isConnected())
        commands->command({"SET", key("node:", node), "1", "PX", number(LivenessTime)},
                          [](const QStateSyncRedisReply &) {});
}

void QStateSyncRedisStoragePrivate::received(const QByteArray &channel, const QByteArray &message)
{
    const QJsonObject payload = QJsonDocument::fromJson(message).object();
    const QString origin = payload.value(QLatin1String("n")).toString();
    if (channel == key("events")) {
        if (origin == node)
            return; // this node did it, and knows
        const QString identifier = payload.value(QLatin1String("s")).toString();
        const QString event = payload.value(QLatin1String("e")).toString();
        if (event == QLatin1String("removed") && removedElsewhere) {
            removedElsewhere(identifier,
                             QStateSync::RemovalReason(payload.value(QLatin1String("r")).toInt()));
        } else if (event == QLatin1String("created") && createdElsewhere) {
            QStateSyncStoredState state;
            state.identifier = identifier;
            state.version = payload.value(QLatin1String("v")).toInteger();
            state.mergeMode
                    = payload.value(QLatin1String("m")).toString() == QLatin1String("shallow")
                    ? QStateSync::MergeMode::Shallow
                    : QStateSync::MergeMode::Deep;
            state.createdAt = payload.value(QLatin1String("c")).toInteger();
            state.ttlDeadline = payload.value(QLatin1String("t")).toInteger();
            createdElsewhere(state);
        }
        return;
    }
    const QByteArray prefix = key("changes:");
    if (!channel.startsWith(prefix) || !published)
        return;
    QList<QStateSyncSharedChange> changes;
    const QJsonArray list = payload.value(QLatin1String("c")).toArray();
    changes.reserve(list.size());
    for (const QJsonValue &entry : list) {
        const QJsonObject change = entry.toObject();
        changes.append(QStateSyncSharedChange{change.value(QLatin1String("k")).toString()
                                                              == QLatin1String("a")
                                                      ? QStateSyncUpdateRequest::Append
                                                      : QStateSyncUpdateRequest::Update,
                                              change.value(QLatin1String("c")).toObject()});
    }
    published(QString::fromUtf8(channel.mid(prefix.size())),
              payload.value(QLatin1String("v")).toInteger(), changes, origin,
              payload.value(QLatin1String("t")).toString().toULongLong());
}

QStateSyncSharedStorage::CreateResult
QStateSyncRedisStoragePrivate::createState(const QStateSyncStoredState &state,
                                           QStateSyncStoredState *existing)
{
    const QByteArray mode = state.mergeMode == QStateSync::MergeMode::Shallow ? "shallow" : "deep";
    const QJsonObject event{{QStringLiteral("e"), QStringLiteral("created")},
                            {QStringLiteral("s"), state.identifier},
                            {QStringLiteral("n"), node},
                            {QStringLiteral("v"), state.version},
                            {QStringLiteral("m"), QString::fromLatin1(mode)},
                            {QStringLiteral("c"), state.createdAt},
                            {QStringLiteral("t"), state.ttlDeadline}};
    QList<QByteArray> arguments{"EVAL",
                                QStateSyncRedisScripts::Create,
                                "3",
                                key("states"),
                                key("state:", state.identifier),
                                key("value:", state.identifier),
                                state.identifier.toUtf8(),
                                number(state.version),
                                mode,
                                number(state.createdAt),
                                number(state.ttlDeadline),
                                key("events"),
                                QStateSyncProtocol::toJson(event)};
    for (auto it = state.value.constBegin(); it != state.value.constEnd(); ++it) {
        arguments.append(it.key().toUtf8());
        arguments.append(QStateSyncProtocol::toJson(it.value()));
    }
    const QStateSyncRedisReply reply = blocking.command(arguments);
    if (reply.isError() || reply.type != QStateSyncRedisReply::Array || reply.elements.empty()) {
        reportError(QStringLiteral("Cannot create state %1 in Redis: %2")
                            .arg(state.identifier, reply.errorText()));
        return CreateResult::Failed;
    }
    if (reply.elements[0].integer == 1)
        return CreateResult::Created;
    if (reply.elements.size() < 3
        || !readState(state.identifier, reply.elements[1], &reply.elements[2], existing)) {
        reportError(QStringLiteral("Redis holds state %1 in a form this node cannot read")
                            .arg(state.identifier));
        return CreateResult::Failed;
    }
    return CreateResult::Exists;
}

bool QStateSyncRedisStoragePrivate::removeState(const QString &identifier,
                                                QStateSync::RemovalReason reason, qint64 dueAt)
{
    const QJsonObject event{{QStringLiteral("e"), QStringLiteral("removed")},
                            {QStringLiteral("s"), identifier},
                            {QStringLiteral("n"), node},
                            {QStringLiteral("r"), int(reason)}};
    const QStateSyncRedisReply reply = blocking.command(
            {"EVAL", QStateSyncRedisScripts::Remove, "4", key("states"), key("state:", identifier),
             key("value:", identifier), key("clients:", identifier), identifier.toUtf8(),
             number(dueAt), key("events"), QStateSyncProtocol::toJson(event)});
    if (reply.isError()) {
        reportError(QStringLiteral("Cannot remove state %1 from Redis: %2")
                            .arg(identifier, reply.errorText()));
        return false;
    }
    return reply.integer == 1;
}

void QStateSyncRedisStoragePrivate::follow(const QString &identifier)
{
    if (followed.contains(identifier))
        return;
    followed.insert(identifier);
    if (subscriber && subscriber->isConnected())
        subscriber->subscribe({key("changes:", identifier)});
}

void QStateSyncRedisStoragePrivate::unfollow(const QString &identifier)
{
    if (!followed.remove(identifier))
        return;
    if (subscriber && subscriber->isConnected())
        subscriber->unsubscribe({key("changes:", identifier)});
    if (commands && commands->isConnected())
        commands->command({"HDEL", key("clients:", identifier), node.toUtf8()},
                          [](const QStateSyncRedisReply &) {});
}

void QStateSyncRedisStoragePrivate::resync(const QString &identifier)
{
    if (followed.contains(identifier))
        fetch(identifier);
}

void QStateSyncRedisStoragePrivate::fetch(const QString &identifier)
{
    if (!commands || !commands->isConnected())
        return; // read when the connection is back
    commands->command(
            {"EVAL", QStateSyncRedisScripts::Fetch, "2", key("state:", identifier),
             key("value:", identifier), "token:" + node.toUtf8()},
            [this, identifier](const QStateSyncRedisReply &reply) {
                if (reply.type == QStateSyncRedisReply::None || !synced
                    || !followed.contains(identifier))
                    return; // lost: read again once reconnected
                QStateSyncStoredState state;
                state.identifier = identifier;
                if (reply.type != QStateSyncRedisReply::Array || reply.elements.empty()) {
                    reportError(QStringLiteral("Cannot read state %1 from Redis: %2")
                                        .arg(identifier, reply.errorText()));
                    return;
                }
                if (reply.elements[0].integer == 0) {
                    synced(state, false, 0);
                    return;
                }
                quint64 token = 0;
                if (reply.elements.size() < 3
                    || !readState(identifier, reply.elements[1], &reply.elements[2], &state,
                                  &token)) {
                    reportError(
                            QStringLiteral("Redis holds state %1 in a form this node cannot read")
                                    .arg(identifier));
                    return;
                }
                synced(state, true, token);
            });
}

void QStateSyncRedisStoragePrivate::submit(const QStateSyncSharedBatch &batch)
{
    QJsonArray changes;
    for (const QStateSyncSharedChange &change : batch.changes)
        changes.append(
                QJsonObject{{QStringLiteral("k"), QString::fromLatin1(encodeKind(change.kind))},
                            {QStringLiteral("c"), change.changes}});
    const QJsonObject message{{QStringLiteral("v"), batch.baseVersion + 1},
                              {QStringLiteral("n"), node},
                              {QStringLiteral("t"), QString::number(batch.token)},
                              {QStringLiteral("c"), changes}};
    QList<QByteArray> arguments{"EVAL",
                                QStateSyncRedisScripts::Submit,
                                "2",
                                key("state:", batch.identifier),
                                key("value:", batch.identifier),
                                number(batch.baseVersion),
                                number(batch.baseVersion + batch.changes.size()),
                                "token:" + node.toUtf8(),
                                QByteArray::number(batch.token),
                                key("changes:", batch.identifier),
                                QStateSyncProtocol::toJson(message),
                                number(batch.touched.size())};
    for (auto it = batch.touched.constBegin(); it != batch.touched.constEnd(); ++it) {
        arguments.append(it.key().toUtf8());
        arguments.append(QStateSyncProtocol::toJson(it.value()));
    }
    for (const QString &removed : batch.removedKeys)
        arguments.append(removed.toUtf8());
    const QString identifier = batch.identifier;
    const quint64 token = batch.token;
    const auto answer = [this, identifier, token](const QStateSyncRedisReply &reply) {
        if (!submitted)
            return;
        if (reply.type == QStateSyncRedisReply::None) {
            submitted(identifier, token, SubmitResult::Unknown, 0);
            return;
        }
        if (reply.type != QStateSyncRedisReply::Array || reply.elements.size() < 2) {
            // A script error: Redis refused, nothing was applied.
            reportError(QStringLiteral("Redis refused changes to state %1: %2")
                                .arg(identifier, reply.errorText()));
            submitted(identifier, token, SubmitResult::Gone, -1);
            return;
        }
        const qint64 status = reply.elements[0].integer;
        const qint64 version = reply.elements[1].integer;
        submitted(identifier, token,
                  status == 1           ? SubmitResult::Applied
                          : status == 0 ? SubmitResult::Conflict
                                        : SubmitResult::Gone,
                  version);
    };
    if (commands && commands->isConnected() && commands->command(arguments, answer))
        return;
    // Not sent: the node learns so from the event loop, not from inside this call.
    QMetaObject::invokeMethod(
            q,
            [this, identifier, token] {
                if (submitted)
                    submitted(identifier, token, SubmitResult::Unknown, 0);
            },
            Qt::QueuedConnection);
}

int QStateSyncRedisStoragePrivate::countClients(const QString &identifier, int ownCount)
{
    const QStateSyncRedisReply reply = blocking.command(
            {"EVAL", QStateSyncRedisScripts::CountClients, "1", key("clients:", identifier),
             key("node:"), node.toUtf8(), number(ownCount)});
    if (reply.type != QStateSyncRedisReply::Integer) {
        reportError(QStringLiteral("Cannot count the clients of state %1 in Redis: %2")
                            .arg(identifier, reply.errorText()));
        return -1;
    }
    return int(reply.integer);
}
