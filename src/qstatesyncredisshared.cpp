// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncRedisStorage as a shared storage: the states of a cluster in Redis, what the
// nodes publish, and the scripts that create, read, change and remove states.

#include "qstatesyncredisstorage_p.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncredisscripts_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>

#include <algorithm>

using namespace QStateSyncRedis;

namespace {
qint64 toNumber(const QStateSyncRedisReply &reply)
{
    return reply.type == QStateSyncRedisReply::Integer ? reply.integer : reply.string.toLongLong();
}

QByteArray encodeKind(QStateSyncUpdateRequest::Kind kind)
{
    return kind == QStateSyncUpdateRequest::Append ? QByteArrayLiteral("a")
                                                   : QByteArrayLiteral("u");
}

QByteArray encodeMode(QStateSync::MergeMode mode)
{
    return mode == QStateSync::MergeMode::Shallow ? QByteArrayLiteral("shallow")
                                                  : QByteArrayLiteral("deep");
}
} // namespace

bool QStateSyncRedis::readState(const QString &identifier, const QStateSyncRedisReply &meta,
                                const QStateSyncRedisReply *values, QStateSyncStoredState *state,
                                quint64 *token)
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

void QStateSyncRedisStoragePrivate::listStates()
{
    // States created while this node did not listen (it was starting, or away) are only
    // in the list.
    if (!commands || !commands->isConnected())
        return;
    const QPointer<QObject> guard(q);
    commands->command(
            {"EVAL", QStateSyncRedisScripts::Load, "1", key("states"), key("state:")},
            [this, guard](const QStateSyncRedisReply &reply) {
                if (!guard || reply.type == QStateSyncRedisReply::None)
                    return; // listed again once reconnected
                if (reply.type != QStateSyncRedisReply::Array) {
                    reportError(QStringLiteral("Cannot list the states in Redis: %1")
                                        .arg(reply.errorText()));
                    QTimer::singleShot(MostRetryDelay, q, [this] { listStates(); });
                    return;
                }
                for (size_t i = 0; i + 1 < reply.elements.size() && createdElsewhere; i += 2) {
                    QStateSyncStoredState state;
                    if (QStateSyncRedis::readState(QString::fromUtf8(reply.elements[i].string),
                                                   reply.elements[i + 1], nullptr, &state))
                        createdElsewhere(state);
                }
            });
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
    const QByteArray mode = encodeMode(state.mergeMode);
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
        || !QStateSyncRedis::readState(state.identifier, reply.elements[1], &reply.elements[2],
                                       existing)) {
        reportError(QStringLiteral("Redis holds state %1 in a form this node cannot read")
                            .arg(state.identifier));
        return CreateResult::Failed;
    }
    return CreateResult::Exists;
}

QStateSyncSharedStorage::RemoveResult
QStateSyncRedisStoragePrivate::removeState(const QString &identifier,
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
    if (reply.type != QStateSyncRedisReply::Integer) {
        reportError(QStringLiteral("Cannot remove state %1 from Redis: %2")
                            .arg(identifier, reply.errorText()));
        return RemoveResult::Failed;
    }
    switch (reply.integer) {
    case 1:
        return RemoveResult::Removed;
    case 2:
        return RemoveResult::NotDue;
    default:
        return RemoveResult::Absent;
    }
}

bool QStateSyncRedisStoragePrivate::readState(const QString &identifier,
                                              QStateSyncStoredState *state)
{
    // Fence 0: a read for the application, which fences off no batch.
    const QStateSyncRedisReply reply = blocking.command(
            {"EVAL", QStateSyncRedisScripts::Fetch, "2", key("state:", identifier),
             key("value:", identifier), "token:" + node.toUtf8(), "0"});
    if (reply.type != QStateSyncRedisReply::Array || reply.elements.empty()) {
        reportError(QStringLiteral("Cannot read state %1 from Redis: %2")
                            .arg(identifier, reply.errorText()));
        return false;
    }
    if (reply.elements[0].integer != 1) {
        reportError(QStringLiteral("Redis no longer has state %1").arg(identifier));
        return false;
    }
    if (reply.elements.size() < 3
        || !QStateSyncRedis::readState(identifier, reply.elements[1], &reply.elements[2], state)) {
        reportError(QStringLiteral("Redis holds state %1 in a form this node cannot read")
                            .arg(identifier));
        return false;
    }
    return true;
}

void QStateSyncRedisStoragePrivate::follow(const QString &identifier)
{
    if (followed.contains(identifier))
        return;
    followed.insert(identifier);
    // Until the connections are up, the first subscription will name every followed
    // state: subscribing here too would read the state twice.
    if (subscriptionsSent)
        subscriber->subscribe({key("changes:", identifier)});
}

void QStateSyncRedisStoragePrivate::unfollow(const QString &identifier)
{
    if (!followed.remove(identifier))
        return;
    fetchFences.remove(identifier);
    fetchFailures.remove(identifier);
    if (subscriptionsSent)
        subscriber->unsubscribe({key("changes:", identifier)});
}

void QStateSyncRedisStoragePrivate::resync(const QString &identifier)
{
    if (followed.contains(identifier))
        fetch(identifier);
}

void QStateSyncRedisStoragePrivate::retryFetch(const QString &identifier)
{
    const int failures = ++fetchFailures[identifier];
    const int delay = std::min(FirstRetryDelay << std::min(failures - 1, 8), MostRetryDelay);
    const QPointer<QObject> guard(q);
    QTimer::singleShot(delay, q, [this, guard, identifier] {
        if (guard && followed.contains(identifier))
            fetch(identifier);
    });
}

void QStateSyncRedisStoragePrivate::fetch(const QString &identifier)
{
    if (!commands || !commands->isConnected())
        return; // read when the connection is back
    // Every read fences off this node's batches sent before it: one that Redis has not run
    // yet is refused when it comes, so the node may merge its changes again.
    const quint64 fence = ++nextToken;
    fetchFences.insert(identifier, fence);
    const QPointer<QObject> guard(q);
    commands->command(
            {"EVAL", QStateSyncRedisScripts::Fetch, "2", key("state:", identifier),
             key("value:", identifier), "token:" + node.toUtf8(), QByteArray::number(fence)},
            [this, guard, identifier, fence](const QStateSyncRedisReply &reply) {
                if (!guard || reply.type == QStateSyncRedisReply::None || !synced
                    || fetchFences.value(identifier) != fence)
                    return; // lost (read again once reconnected), or a later read is coming
                QStateSyncStoredState state;
                state.identifier = identifier;
                quint64 token = 0;
                if (reply.type != QStateSyncRedisReply::Array || reply.elements.empty()
                    || (reply.elements[0].integer == 1
                        && (reply.elements.size() < 3
                            || !QStateSyncRedis::readState(identifier, reply.elements[1],
                                                           &reply.elements[2], &state, &token)))) {
                    // Redis loading its data, busy with a script, out of memory: try again.
                    // One line per streak of failures.
                    if (fetchFailures.value(identifier) == 0)
                        reportError(QStringLiteral("Cannot read state %1 from Redis: %2")
                                            .arg(identifier, reply.errorText()));
                    retryFetch(identifier);
                    return;
                }
                fetchFailures.remove(identifier);
                synced(state, reply.elements[0].integer == 1, token);
            });
}

quint64 QStateSyncRedisStoragePrivate::submit(const QStateSyncSharedBatch &batch)
{
    const quint64 token = ++nextToken;
    QJsonArray changes;
    for (const QStateSyncSharedChange &change : batch.changes)
        changes.append(
                QJsonObject{{QStringLiteral("k"), QString::fromLatin1(encodeKind(change.kind))},
                            {QStringLiteral("c"), change.changes}});
    const QJsonObject message{{QStringLiteral("v"), batch.baseVersion + 1},
                              {QStringLiteral("n"), node},
                              {QStringLiteral("t"), QString::number(token)},
                              {QStringLiteral("c"), changes}};
    QList<QByteArray> arguments{"EVAL",
                                QStateSyncRedisScripts::Submit,
                                "2",
                                key("state:", batch.identifier),
                                key("value:", batch.identifier),
                                number(batch.baseVersion),
                                number(batch.baseVersion + batch.changes.size()),
                                "token:" + node.toUtf8(),
                                QByteArray::number(token),
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
    const QPointer<QObject> guard(q);
    const auto answer = [this, guard, identifier, token](const QStateSyncRedisReply &reply) {
        if (!guard || !submitted)
            return;
        if (reply.type != QStateSyncRedisReply::Array || reply.elements.size() < 2) {
            // No answer, or Redis failed (out of memory, a read-only replica, busy): the
            // batch may or may not be applied, and a read of the state tells.
            if (reply.type != QStateSyncRedisReply::None)
                reportError(QStringLiteral("Redis refused changes to state %1: %2")
                                    .arg(identifier, reply.errorText()));
            submitted(identifier, token, SubmitResult::Unknown, 0);
            return;
        }
        switch (reply.elements[0].integer) {
        case 1:
            submitted(identifier, token, SubmitResult::Applied, reply.elements[1].integer);
            break;
        case 0:
            submitted(identifier, token, SubmitResult::Conflict, reply.elements[1].integer);
            break;
        case -1:
            submitted(identifier, token, SubmitResult::Gone, -1);
            break;
        default: // fenced off by a read: that read's answer decides
            break;
        }
    };
    if (commands && commands->isConnected() && commands->command(arguments, answer))
        return token;
    // Not sent: the node learns so from the event loop, not from inside this call.
    QMetaObject::invokeMethod(
            q,
            [this, guard, identifier, token] {
                if (guard && submitted)
                    submitted(identifier, token, SubmitResult::Unknown, 0);
            },
            Qt::QueuedConnection);
    return token;
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
