// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncredisconnection_p.h"

#include <QtCore/qsocketnotifier.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <sys/time.h>

#include <utility>

namespace {
QStateSyncRedisReply copyReply(const redisReply *reply)
{
    QStateSyncRedisReply copy;
    if (!reply) {
        copy.string = QByteArrayLiteral("the connection to Redis was lost");
        return copy;
    }
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        copy.type = QStateSyncRedisReply::String;
        break;
    case REDIS_REPLY_ARRAY:
        copy.type = QStateSyncRedisReply::Array;
        break;
    case REDIS_REPLY_INTEGER:
        copy.type = QStateSyncRedisReply::Integer;
        break;
    case REDIS_REPLY_NIL:
        copy.type = QStateSyncRedisReply::Nil;
        break;
    case REDIS_REPLY_STATUS:
        copy.type = QStateSyncRedisReply::Status;
        break;
    default:
        copy.type = QStateSyncRedisReply::Error;
        break;
    }
    copy.integer = reply->integer;
    if (reply->str)
        copy.string = QByteArray(reply->str, qsizetype(reply->len));
    copy.elements.reserve(reply->elements);
    for (size_t i = 0; i < reply->elements; ++i)
        copy.elements.push_back(copyReply(reply->element[i]));
    return copy;
}

struct Arguments
{
    explicit Arguments(const QList<QByteArray> &list)
    {
        pointers.reserve(list.size());
        lengths.reserve(list.size());
        for (const QByteArray &argument : list) {
            pointers.push_back(argument.constData());
            lengths.push_back(size_t(argument.size()));
        }
    }
    std::vector<const char *> pointers;
    std::vector<size_t> lengths;
};
} // namespace

QString QStateSyncRedisReply::errorText() const
{
    if (type == None && string.isEmpty())
        return QStringLiteral("no reply from Redis");
    return QString::fromUtf8(string);
}

QStateSyncRedisConnection::QStateSyncRedisConnection(QObject *parent)
    : QObject(parent)
{ }

QStateSyncRedisConnection::~QStateSyncRedisConnection()
{
    // Handlers may still be waiting: they learn the connection is gone, but nothing is
    // emitted from a destructor.
    const QSignalBlocker blocker(this);
    abort();
}

void QStateSyncRedisConnection::connectToServer(const QString &hostName, quint16 port)
{
    abort();
    redisAsyncContext *context = redisAsyncConnect(hostName.toUtf8().constData(), port);
    if (!context) {
        lost(QStringLiteral("out of memory"));
        return;
    }
    if (context->err) {
        const QString error = QString::fromUtf8(context->errstr);
        redisAsyncFree(context);
        QMetaObject::invokeMethod(
                this, [this, error] { Q_EMIT disconnected(error); }, Qt::QueuedConnection);
        return;
    }
    m_context = context;
    context->data = this;
    context->ev.data = this;
    context->ev.addRead = &QStateSyncRedisConnection::addRead;
    context->ev.delRead = &QStateSyncRedisConnection::deleteRead;
    context->ev.addWrite = &QStateSyncRedisConnection::addWrite;
    context->ev.delWrite = &QStateSyncRedisConnection::deleteWrite;
    context->ev.cleanup = &QStateSyncRedisConnection::cleanup;
    redisAsyncSetConnectCallback(context, &QStateSyncRedisConnection::onConnect);
    redisAsyncSetDisconnectCallback(context, &QStateSyncRedisConnection::onDisconnect);
    // hiredis only learns that the connect finished when the socket turns writable.
    addWrite(this);
}

void QStateSyncRedisConnection::abort()
{
    redisAsyncContext *context = std::exchange(m_context, nullptr);
    if (!context)
        return;
    // hiredis may free the context later (when called from one of its callbacks): from
    // now on it must not call back into this object.
    context->data = nullptr;
    context->ev.data = nullptr;
    context->ev.addRead = nullptr;
    context->ev.delRead = nullptr;
    context->ev.addWrite = nullptr;
    context->ev.delWrite = nullptr;
    context->ev.cleanup = nullptr;
    cleanup(this);
    m_connected = false;
    // Every handler still waiting gets a None reply.
    redisAsyncFree(context);
}

bool QStateSyncRedisConnection::command(const QList<QByteArray> &arguments, ReplyHandler handler)
{
    auto *data = new ReplyHandler(std::move(handler));
    if (!send(arguments, &QStateSyncRedisConnection::onReply, data)) {
        delete data;
        return false;
    }
    return true;
}

bool QStateSyncRedisConnection::subscribe(const QList<QByteArray> &channels)
{
    QList<QByteArray> arguments{QByteArrayLiteral("SUBSCRIBE")};
    arguments += channels;
    return send(arguments, &QStateSyncRedisConnection::onSubscription, this);
}

bool QStateSyncRedisConnection::unsubscribe(const QList<QByteArray> &channels)
{
    QList<QByteArray> arguments{QByteArrayLiteral("UNSUBSCRIBE")};
    arguments += channels;
    return send(arguments, &QStateSyncRedisConnection::onSubscription, this);
}

bool QStateSyncRedisConnection::send(const QList<QByteArray> &arguments,
                                     void (*callback)(redisAsyncContext *, void *, void *),
                                     void *data)
{
    if (!m_context || !m_connected)
        return false;
    Arguments argv(arguments);
    return redisAsyncCommandArgv(m_context, callback, data, int(arguments.size()),
                                 argv.pointers.data(), argv.lengths.data())
            == REDIS_OK;
}

void QStateSyncRedisConnection::onConnect(const redisAsyncContext *context, int status)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(context->data);
    if (!self)
        return;
    if (status != REDIS_OK) {
        // hiredis frees the context after this returns, without a disconnect callback
        // (made sure of: this object no longer hears of the context).
        const QString error = QString::fromUtf8(context->errstr);
        const_cast<redisAsyncContext *>(context)->data = nullptr;
        self->m_context = nullptr;
        self->lost(error);
        return;
    }
    self->m_connected = true;
    // Dead peers are found by the system too, not only by the next command.
    redisEnableKeepAlive(&self->m_context->c);
    // hiredis goes on with the context when this returns: a slot that aborts the
    // connection must not free it under hiredis' feet.
    QMetaObject::invokeMethod(
            self,
            [self] {
                if (self->m_connected)
                    Q_EMIT self->connected();
            },
            Qt::QueuedConnection);
}

void QStateSyncRedisConnection::onDisconnect(const redisAsyncContext *context, int status)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(context->data);
    if (!self)
        return;
    self->m_context = nullptr;
    self->lost(status == REDIS_OK ? QStringLiteral("disconnected")
                                  : QString::fromUtf8(context->errstr));
}

void QStateSyncRedisConnection::lost(const QString &error)
{
    cleanup(this);
    m_connected = false;
    Q_EMIT disconnected(error.isEmpty() ? QStringLiteral("the connection was closed") : error);
}

void QStateSyncRedisConnection::onReply(redisAsyncContext *, void *reply, void *data)
{
    auto *handler = static_cast<ReplyHandler *>(data);
    const QStateSyncRedisReply copy = copyReply(static_cast<redisReply *>(reply));
    (*handler)(copy);
    delete handler;
}

void QStateSyncRedisConnection::onSubscription(redisAsyncContext *, void *reply, void *connection)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(connection);
    const auto *message = static_cast<redisReply *>(reply);
    if (!message || message->type != REDIS_REPLY_ARRAY || message->elements < 3)
        return;
    const QByteArray kind(message->element[0]->str, qsizetype(message->element[0]->len));
    const QByteArray channel(message->element[1]->str, qsizetype(message->element[1]->len));
    if (kind == "message") {
        if (self->m_onMessage)
            self->m_onMessage(
                    channel,
                    QByteArray(message->element[2]->str, qsizetype(message->element[2]->len)));
    } else if (kind == "subscribe") {
        Q_EMIT self->subscribed(channel);
    }
}

void QStateSyncRedisConnection::addRead(void *connection)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(connection);
    if (self->m_read || !self->m_context)
        return;
    self->m_read = new QSocketNotifier(self->m_context->c.fd, QSocketNotifier::Read, self);
    QObject::connect(self->m_read, &QSocketNotifier::activated, self, [self] {
        if (self->m_context)
            redisAsyncHandleRead(self->m_context);
    });
}

namespace {
// Notifiers may be dropped from inside their own activation: they go once it returns.
void dropNotifier(QSocketNotifier *&notifier)
{
    if (!notifier)
        return;
    notifier->setEnabled(false);
    notifier->deleteLater();
    notifier = nullptr;
}
} // namespace

void QStateSyncRedisConnection::deleteRead(void *connection)
{
    dropNotifier(static_cast<QStateSyncRedisConnection *>(connection)->m_read);
}

void QStateSyncRedisConnection::addWrite(void *connection)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(connection);
    if (self->m_write || !self->m_context)
        return;
    self->m_write = new QSocketNotifier(self->m_context->c.fd, QSocketNotifier::Write, self);
    QObject::connect(self->m_write, &QSocketNotifier::activated, self, [self] {
        if (self->m_context)
            redisAsyncHandleWrite(self->m_context);
    });
}

void QStateSyncRedisConnection::deleteWrite(void *connection)
{
    dropNotifier(static_cast<QStateSyncRedisConnection *>(connection)->m_write);
}

void QStateSyncRedisConnection::cleanup(void *connection)
{
    auto *self = static_cast<QStateSyncRedisConnection *>(connection);
    dropNotifier(self->m_read);
    dropNotifier(self->m_write);
}

QStateSyncRedisBlockingConnection::~QStateSyncRedisBlockingConnection()
{
    close();
}

void QStateSyncRedisBlockingConnection::setServer(const QString &hostName, quint16 port,
                                                  int timeoutMilliseconds)
{
    close();
    m_hostName = hostName;
    m_port = port;
    m_timeout = timeoutMilliseconds;
}

void QStateSyncRedisBlockingConnection::close()
{
    if (m_context)
        redisFree(m_context);
    m_context = nullptr;
    m_used = false;
}

bool QStateSyncRedisBlockingConnection::ensureConnected(QString *error)
{
    if (m_context && !m_context->err)
        return true;
    close();
    const timeval timeout{m_timeout / 1000, (m_timeout % 1000) * 1000};
    m_context = redisConnectWithTimeout(m_hostName.toUtf8().constData(), m_port, timeout);
    if (!m_context || m_context->err) {
        *error = m_context ? QString::fromUtf8(m_context->errstr) : QStringLiteral("out of memory");
        close();
        return false;
    }
    redisSetTimeout(m_context, timeout);
    redisEnableKeepAlive(m_context);
    return true;
}

QStateSyncRedisReply QStateSyncRedisBlockingConnection::command(const QList<QByteArray> &arguments)
{
    QString error;
    if (!ensureConnected(&error)) {
        QStateSyncRedisReply failed;
        failed.string = error.toUtf8();
        return failed;
    }
    if (!m_context) {
        QStateSyncRedisReply failed;
        failed.string = error.toUtf8();
        return failed;
    }
    Arguments argv(arguments);
    const bool reused = m_context && m_used;
    m_used = true;
    auto *reply = static_cast<redisReply *>(redisCommandArgv(
            m_context, int(arguments.size()), argv.pointers.data(), argv.lengths.data()));
    if (!reply && reused) {
        // The connection may have gone while it was idle (Redis restarted, or closed idle
        // clients): once more on a new one.
        close();
        if (ensureConnected(&error)) {
            m_used = true;
            reply = static_cast<redisReply *>(redisCommandArgv(
                    m_context, int(arguments.size()), argv.pointers.data(), argv.lengths.data()));
        }
    }
    if (!reply) {
        QStateSyncRedisReply failed;
        failed.string = m_context && m_context->errstr[0] ? QByteArray(m_context->errstr)
                : error.isEmpty()                         ? QByteArrayLiteral("no reply from Redis")
                                                          : error.toUtf8();
        close();
        return failed;
    }
    QStateSyncRedisReply copy = copyReply(reply);
    freeReplyObject(reply);
    return copy;
}
