// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCCONNECTION_P_H
#define QSTATESYNCCONNECTION_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncjoinrequest.h"
#include "qstatesynclimits_p.h"
#include "qstatesyncoutput_p.h"
#include "qstatesynclink_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesynctransport_p.h"

#include <QtCore/qjsonobject.h>

#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qvariant.h>
#include <QtWebSockets/qwebsocketprotocol.h>

#include <memory>
#include <utility>

class QStateSyncerPrivate;
class QStateSyncServerState;

// One client's WebSocket on the server: who it is, which state it joined, and how to
// send it bytes. Incoming messages go to QStateSyncerPrivate.
//
// Its outgoing queue is bounded: while more than the server's maxPendingOutput waits to
// be sent, the state's changes are conflated (QStateSyncConflation) instead of queued,
// and what the client missed goes in one message once the queue has drained to a
// quarter of the limit. Answers to the client's own requests are always sent; a client
// that keeps asking while its queue is full, without reading, is dropped.
class QStateSyncConnection : public QObject
{
    Q_OBJECT

public:
    QStateSyncConnection(QStateSyncerPrivate *server, std::unique_ptr<QStateSyncLink> link,
                         const QStateSyncIdentity &identity, quint64 id);
    ~QStateSyncConnection() override;

    // Unique for the server's lifetime: tells apart two connections of one client.
    quint64 id() const { return m_id; }
    QString clientIdentifier() const { return m_identity.clientIdentifier; }
    QVariantMap clientInformation() const { return m_identity.clientInformation; }
    QVariantMap defaultPublicInformation() const { return m_identity.publicInformation; }
    bool isV2() const { return m_v2; }
    bool isServedByIoThread() const { return m_link->isServedByIoThread(); }
    // Gone: disconnected or being destroyed; nothing is sent or joined any more.
    bool isGone() const { return m_gone; }
    void markGone() { m_gone = true; }
    QString peerDescription() const;

    QString joinedState() const { return m_joinedState; }
    // Leaving or changing the state drops whatever was conflated for the old one.
    void setJoinedState(const QString &stateIdentifier);

    QPointer<QStateSyncJoinRequest> pendingJoin;
    // In a cluster: the state whose join waits until this node has its current value.
    QString awaitedState;

    // Presence in the joined state: what the hooks chose to show, and what the client set.
    QJsonObject publicInformation;
    QJsonObject presenceData;
    QJsonObject presenceEntry() const;

    // An answer to the client's own request: message is JSON text.
    void send(const QByteArray &message);
    // A frame made by QStateSyncProtocol::textFrame(), so one frame serves every client of
    // a broadcast. Writes it as it is: the state's messages ask isCongested() first.
    void sendFrame(const QByteArray &frame);
    // The state's value for a join or a rejoin; deferred when congested.
    void sendEstablished(const QStateSyncServerState &state);
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);

    // Bytes written to the connection that the peer has not taken yet.
    qint64 pendingOutput() const;
    // Whether the state's messages are conflated instead of sent; starts conflating when
    // the queue is over the limit.
    bool isCongested();
    // ownRequestId: the request id of the client's own change, to acknowledge later.
    void conflateChange(const QJsonObject &patch, QStateSync::MergeMode mode,
                        const QJsonValue &ownRequestId);
    void conflateKeys(const QJsonObject &changes, const QJsonValue &ownRequestId);
    void conflatePresence();
    // The state's value was read again (in a cluster, after changes were missed): the
    // client gets a snapshot, which acknowledges ownRequestIds, as soon as its queue allows.
    void resynchronize(const QList<QJsonValue> &ownRequestIds);

    // The heartbeat: whether the peer showed a sign of life since the last call (a byte
    // received, or some of a backlog taken), which starts the next period.
    bool takeSignOfLife() { return m_link->takeSignOfLife(); }
    void markAlive() { m_link->markAlive(); }
    // How far past twice maxPendingOutput a peer that reads, however slowly, may fall.
    static constexpr qint64 HardOutputMargin = 1024 * 1024;
    qint64 maxPendingOutput() const;
    void ping();
    // Aborts the connection, which then leaves its state as on any disconnect.
    void drop();

    QStateSyncTokenBucket updateTokens;
    // One peer must not flood the log: refusals are logged at most once a second each.
    QStateSyncLogThrottle rateLimitLog;
    QStateSyncLogThrottle refusalLog;

    // From the link: a message as text, or decoded already (by an I/O thread).
    void receive(const QByteArray &utf8);
    void receive(const QStateSyncProtocol::ClientMessage &message, qint64 size);
    void receiveBinary();
    // The link closed; dropped: because the peer sent without reading.
    void linkClosed(bool dropped = false);
    // The system took output, or the limit changed; pending bytes still wait.
    void outputTaken(qint64 pending);
    void dropForNotReading(qint64 pending);

private:
    void chargeWhileCongested(qint64 bytes);
    void flushConflation();

    QStateSyncerPrivate *m_server;
    std::unique_ptr<QStateSyncLink> m_link;
    QStateSyncIdentity m_identity;
    quint64 m_id;
    QString m_joinedState;
    bool m_v2 = false;
    bool m_gone = false;
    bool m_dropping = false;
    QStateSyncConflation m_conflation;
    // Answers and acknowledgements owed while the queue is over the limit.
    qint64 m_owedWhileCongested = 0;
    QStateSyncLogThrottle m_congestionLog;
};

#endif // QSTATESYNCCONNECTION_P_H
