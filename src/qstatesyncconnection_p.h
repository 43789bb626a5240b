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
#include "qstatesynctransport_p.h"

#include <QtCore/qjsonobject.h>

#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qvariant.h>
#include <QtWebSockets/qwebsocketprotocol.h>

QT_BEGIN_NAMESPACE
    class QTcpSocket;
    class QWebSocket;
QT_END_NAMESPACE

class QStateSyncerPrivate;

// One client's WebSocket on the server: who it is, which state it joined, and how to
// send it bytes. Incoming messages go to QStateSyncerPrivate.
class QStateSyncConnection : public QObject
{
    Q_OBJECT

public:
    QStateSyncConnection(QStateSyncerPrivate *server, QWebSocket *webSocket, QTcpSocket *tcpSocket,
                         const QStateSyncIdentity &identity, quint64 id);
    ~QStateSyncConnection() override;

    // Unique for the server's lifetime: tells apart two connections of one client.
    quint64 id() const { return m_id; }
    QString clientIdentifier() const { return m_identity.clientIdentifier; }
    QVariantMap clientInformation() const { return m_identity.clientInformation; }
    QVariantMap defaultPublicInformation() const { return m_identity.publicInformation; }
    bool isV2() const { return m_v2; }
    // Gone: disconnected or being destroyed; nothing is sent or joined any more.
    bool isGone() const { return m_gone; }
    void markGone() { m_gone = true; }
    QString peerDescription() const;

    QString joinedState() const { return m_joinedState; }
    void setJoinedState(const QString &stateIdentifier) { m_joinedState = stateIdentifier; }

    QPointer<QStateSyncJoinRequest> pendingJoin;

    // Presence in the joined state: what the hooks chose to show, and what the client set.
    QJsonObject publicInformation;
    QJsonObject presenceData;
    QJsonObject presenceEntry() const;

    // message is JSON text; sendFrame() takes a frame made by QStateSyncProtocol::textFrame(),
    // so one frame serves every client of a broadcast.
    void send(const QByteArray &message);
    void sendFrame(const QByteArray &frame);
    void close(QWebSocketProtocol::CloseCode code, const QString &reason);

private:
    void onTextMessage(const QString &message);
    void onBinaryMessage(const QByteArray &message);
    void onDisconnected();

    QStateSyncerPrivate *m_server;
    QWebSocket *m_webSocket;
    QPointer<QTcpSocket> m_tcpSocket;
    QStateSyncIdentity m_identity;
    quint64 m_id;
    QString m_joinedState;
    bool m_v2 = false;
    bool m_gone = false;
};

#endif // QSTATESYNCCONNECTION_P_H
