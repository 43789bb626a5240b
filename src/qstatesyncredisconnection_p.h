// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCREDISCONNECTION_P_H
#define QSTATESYNCREDISCONNECTION_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesync_global.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qlist.h>
#include <QtCore/qobject.h>
#include <QtCore/qstring.h>

#include <functional>
#include <vector>

struct redisAsyncContext;
struct redisContext;
class QSocketNotifier;

// A reply from Redis, copied out of hiredis' own structure.
struct QStateSyncRedisReply
{
    enum Type { None, String, Array, Integer, Nil, Status, Error };
    Type type = None; // None: no reply, the connection went first
    QByteArray string; // String, Status, Error
    qint64 integer = 0;
    std::vector<QStateSyncRedisReply> elements;

    bool isError() const { return type == None || type == Error; }
    // The text of an Error, or why there is no reply.
    QString errorText() const;
};

// One asynchronous connection to a Redis server, served by the thread's event loop.
// hiredis does the protocol; socket notifiers tell it when to read and write. This class
// hooks hiredis' event callbacks itself rather than use hiredis' adapters/qt.h, whose
// RedisQtAdapter (a Q_OBJECT class in a system header, for moc to find) deletes a socket
// notifier from inside that notifier's own activated() when the connection closes, and
// leaves hiredis calling it back with a null adapter once it is destroyed before its
// context. Here notifiers go with deleteLater(), and abort() unhooks the callbacks first.
//
// A connection is either for commands or, once subscribe() was called, for receiving
// published messages (Redis allows no other commands on a subscribed connection).
// Exported for the tests, which listen to what a cluster publishes.
class Q_STATESYNC_EXPORT QStateSyncRedisConnection : public QObject
{
    Q_OBJECT

public:
    using ReplyHandler = std::function<void(const QStateSyncRedisReply &reply)>;
    using MessageHandler
            = std::function<void(const QByteArray &channel, const QByteArray &message)>;

    explicit QStateSyncRedisConnection(QObject *parent = nullptr);
    ~QStateSyncRedisConnection() override;

    // Starts connecting; connected() or disconnected() tells how it went.
    void connectToServer(const QString &hostName, quint16 port);
    // Drops the connection at once, without disconnected(): handlers of commands without a
    // reply get a None reply.
    void abort();
    bool isConnected() const { return m_connected; }

    // Sends a command; handler gets its reply (a None reply if the connection went first).
    // Returns false, without calling handler, when there is no connection.
    bool command(const QList<QByteArray> &arguments, ReplyHandler handler);
    // Subscribes to channels; every message published to one goes to the message handler.
    bool subscribe(const QList<QByteArray> &channels);
    bool unsubscribe(const QList<QByteArray> &channels);
    void setMessageHandler(MessageHandler handler) { m_onMessage = std::move(handler); }

Q_SIGNALS:
    void connected();
    // The connection failed or was lost; error says why.
    void disconnected(const QString &error);
    // A subscribe was confirmed: messages published to channel from now on arrive.
    void subscribed(const QByteArray &channel);

private:
    static void onConnect(const redisAsyncContext *context, int status);
    static void onDisconnect(const redisAsyncContext *context, int status);
    static void onReply(redisAsyncContext *context, void *reply, void *handler);
    static void onSubscription(redisAsyncContext *context, void *reply, void *connection);
    static void addRead(void *connection);
    static void deleteRead(void *connection);
    static void addWrite(void *connection);
    static void deleteWrite(void *connection);
    static void cleanup(void *connection);
    bool send(const QList<QByteArray> &arguments,
              void (*callback)(redisAsyncContext *, void *, void *), void *data);
    void lost(const QString &error);

    redisAsyncContext *m_context = nullptr;
    QSocketNotifier *m_read = nullptr;
    QSocketNotifier *m_write = nullptr;
    bool m_connected = false;
    MessageHandler m_onMessage;
};

// A blocking connection for the few commands a caller must wait for (creating and
// removing states), with a deadline on every command. Reconnects on the next command
// after a failure.
class QStateSyncRedisBlockingConnection
{
public:
    QStateSyncRedisBlockingConnection() = default;
    ~QStateSyncRedisBlockingConnection();
    Q_DISABLE_COPY_MOVE(QStateSyncRedisBlockingConnection)

    void setServer(const QString &hostName, quint16 port, int timeoutMilliseconds);
    // A None reply with errorText() when the server could not be reached or did not answer
    // in time.
    QStateSyncRedisReply command(const QList<QByteArray> &arguments);
    void close();

private:
    bool ensureConnected(QString *error);

    redisContext *m_context = nullptr;
    QString m_hostName;
    quint16 m_port = 0;
    int m_timeout = 2000;
    bool m_used = false; // a command went over this connection already
};

#endif // QSTATESYNCREDISCONNECTION_P_H
