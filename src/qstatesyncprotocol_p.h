// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCPROTOCOL_P_H
#define QSTATESYNCPROTOCOL_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It exists for the convenience of the
// QStateSync implementation and its tests. It may change from version to version
// without notice, or even be removed.
//

#include "qstatesync_global.h"
#include "qstatesyncnamespace.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qjsonvalue.h>
#include <QtCore/qstring.h>

// The wire protocol: every frame either side sends or receives is decoded and encoded
// here and nowhere else. doc/protocol.md describes it.
namespace QStateSyncProtocol {

// QStateSyncClient offers two WebSocket subprotocols, in this order: v1 fallback, then v2.
// A QStateSyncer supports only v2 and selects it. The original JavaScript server (the ws
// package with no protocol handler) selects whatever is offered first, so it answers with
// the v1 token; a server that selects nothing speaks v1 too. A client that offers nothing
// is served v1.
inline constexpr char subprotocolV1[] = "qstatesync.v1";
inline constexpr char subprotocolV2[] = "qstatesync.v2";

namespace MessageType {
enum : int {
    // client to server (v1)
    ExchangeIdentifier = 1,
    ConnectToState = 2,
    UpdateState = 3,
    // server to client (v1)
    StateUpdated = 3,
    StateConnectionEstablished = 7,
    StateConnectionError = 8,
    StateUpdateFailed = 9,
    UnsupportedMessageType = 10,
    // v2 extensions, client to server
    AppendToState = 20,
    LeaveState = 21,
    SetPresence = 26,
    // v2 extensions, server to client
    StateAppended = 22,
    StateLeft = 23,
    StateRemoved = 24,
    ProtocolError = 25,
    PresenceChanged = 27,
};
}

// Upper bounds on fields a client chooses, so that one message cannot make the server keep
// arbitrarily long identifiers.
inline constexpr qsizetype MaxStateIdentifierLength = 1024;
inline constexpr qsizetype MaxRequestIdLength = 256;

// A client's message as the server understands it. When error is set, the message is
// refused: replyType is the message type that carries the error answer, and requestId
// is echoed on it when the client gave one.
struct ClientMessage
{
    int type = 0;
    QString stateIdentifier;
    QJsonObject updates;
    QJsonObject appends;
    QJsonObject presence;
    QJsonValue requestId = QJsonValue(QJsonValue::Undefined);

    QStateSync::Error error = QStateSync::Error::NoError;
    QString errorMessage;
    int replyType = MessageType::ProtocolError;

    bool isValid() const { return error == QStateSync::Error::NoError; }
};

Q_STATESYNC_EXPORT ClientMessage decodeClientMessage(QStringView text, int maxDepth);
Q_STATESYNC_EXPORT ClientMessage decodeClientMessage(QByteArrayView utf8, int maxDepth);

// A server's message as the client understands it: type and data object (empty for null).
struct ServerMessage
{
    int type = 0;
    QJsonObject data;
    bool valid = false;
};

Q_STATESYNC_EXPORT ServerMessage decodeServerMessage(QStringView text);

// Client to server.
Q_STATESYNC_EXPORT QByteArray encodeConnectToState(const QString &stateIdentifier);
Q_STATESYNC_EXPORT QByteArray encodeUpdateState(const QJsonObject &updates,
                                                const QJsonValue &requestId);
Q_STATESYNC_EXPORT QByteArray encodeAppendToState(const QJsonObject &appends,
                                                  const QJsonValue &requestId);
Q_STATESYNC_EXPORT QByteArray encodeLeaveState();
Q_STATESYNC_EXPORT QByteArray encodeSetPresence(const QJsonObject &presence);

// Server to client.
// presence lists the clients joined to the state (the receiver included) and presenceId
// is the receiver's own entry; both are left out when presenceId is negative (v1).
// requestIds, when not empty, acknowledges the receiver's changes that the value includes
// and that it was not sent otherwise (a snapshot that replaced what a slow client missed).
Q_STATESYNC_EXPORT QByteArray encodeConnectionEstablished(const QString &stateIdentifier,
                                                          const QJsonObject &value, qint64 version,
                                                          QStateSync::MergeMode mode,
                                                          const QJsonArray &presence = {},
                                                          qint64 presenceId = -1,
                                                          const QJsonArray &requestIds = {});
// A STATE_UPDATED with "conflated": true: the changes a slow client missed, in one patch
// that brings it to version; requestIds as above.
Q_STATESYNC_EXPORT QByteArray encodeConflatedUpdate(const QJsonObject &updates, qint64 version,
                                                    const QJsonArray &requestIds = {});
Q_STATESYNC_EXPORT QByteArray encodeError(int type, QStateSync::Error error, const QString &message,
                                          const QJsonValue &requestId = QJsonValue::Undefined,
                                          const QString &stateIdentifier = QString());
Q_STATESYNC_EXPORT QByteArray encodeStateRemoved(const QString &stateIdentifier,
                                                 QStateSync::RemovalReason reason);
Q_STATESYNC_EXPORT QByteArray encodeStateLeft(const QString &stateIdentifier);

namespace PresenceEvent {
inline constexpr char Joined[] = "joined";
inline constexpr char Left[] = "left";
inline constexpr char Changed[] = "changed";
} // namespace PresenceEvent
// entry: {"id": n, "clientIdentifier": "...", "information": {...}, "data": {...}}.
Q_STATESYNC_EXPORT QByteArray encodePresenceChanged(const char *event, const QJsonObject &entry);

// One applied change as it goes to many clients: the payload object is encoded once, and
// message() only adds the request id for the sender's acknowledgement.
class Q_STATESYNC_EXPORT Broadcast
{
public:
    // type is StateUpdated (payload under "updates") or StateAppended ("appends").
    Broadcast(int type, const QJsonObject &payload, qint64 version);

    QByteArray message(const QJsonValue &requestId = QJsonValue::Undefined) const;
    // textFrame(message(requestId)), made in one buffer.
    QByteArray frame(const QJsonValue &requestId = QJsonValue::Undefined) const;

    // How many broadcast payloads were encoded since the process started: lets the tests
    // prove that a broadcast is encoded once per protocol flavour, not once per client.
    static quint64 encodedCount();

private:
    QByteArray m_head;
};

// The largest payload a server frame carries: longer messages are sent in fragments.
inline constexpr qsizetype MaxFramePayload = 64 * 1024;

// A complete unmasked WebSocket text message carrying payload: one frame with FIN set, or,
// past MaxFramePayload, a text frame and continuation frames of that size, the last with
// FIN. The bytes a server writes to every peer, so a broadcast frames its message once.
Q_STATESYNC_EXPORT QByteArray textFrame(QByteArrayView payload);

// Compact JSON text of any value, scalars included.
Q_STATESYNC_EXPORT QByteArray toJson(const QJsonValue &value);

} // namespace QStateSyncProtocol

#endif // QSTATESYNCPROTOCOL_P_H
