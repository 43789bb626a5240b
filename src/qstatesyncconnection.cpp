// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncserverstate_p.h"

QStateSyncConnection::QStateSyncConnection(QStateSyncerPrivate *server,
                                           std::unique_ptr<QStateSyncLink> link,
                                           const QStateSyncIdentity &identity, quint64 id)
    : m_server(server)
    , m_link(std::move(link))
    , m_identity(identity)
    , m_id(id)
    , m_v2(m_link->isV2())
{
    m_link->setConnection(this);
}

QStateSyncConnection::~QStateSyncConnection() = default;

QString QStateSyncConnection::peerDescription() const
{
    return QStringLiteral("%1 (%2:%3)")
            .arg(loggable(m_identity.clientIdentifier), m_link->peerAddress().toString())
            .arg(m_link->peerPort());
}

QJsonObject QStateSyncConnection::presenceEntry() const
{
    return QJsonObject{{QLatin1String("id"), qint64(m_id)},
                       {QLatin1String("clientIdentifier"), m_identity.clientIdentifier},
                       {QLatin1String("information"), publicInformation},
                       {QLatin1String("data"), presenceData}};
}

void QStateSyncConnection::setJoinedState(const QString &stateIdentifier)
{
    if (stateIdentifier != m_joinedState)
        m_conflation.clear();
    m_joinedState = stateIdentifier;
}

void QStateSyncConnection::send(const QByteArray &message)
{
    const QByteArray frame = QStateSyncProtocol::textFrame(message);
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (limit > 0 && pendingOutput() > limit)
        chargeWhileCongested(frame.size());
    sendFrame(frame);
}

void QStateSyncConnection::sendFrame(const QByteArray &frame)
{
    if (m_gone || m_dropping || !m_link->isOpen())
        return;
    m_server->counters.bytesSent += quint64(frame.size());
    m_link->write(frame);
}

void QStateSyncConnection::sendEstablished(const QStateSyncServerState &state)
{
    if (isCongested()) {
        m_conflation.requireSnapshot();
        return;
    }
    sendFrame(QStateSyncProtocol::textFrame(QStateSyncProtocol::encodeConnectionEstablished(
            state.identifier, state.publishedValue(), state.publishedVersion(),
            state.options.mergeMode(),
            // v1 has no presence: a join storm of v1 clients would build it for nothing.
            m_v2 ? state.presence() : QJsonArray(), m_v2 ? qint64(m_id) : -1)));
}

void QStateSyncConnection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    m_link->close(quint16(code), reason);
}

qint64 QStateSyncConnection::pendingOutput() const
{
    return m_link->pendingOutput();
}

qint64 QStateSyncConnection::maxPendingOutput() const
{
    return m_server->limits.maxPendingOutput;
}

bool QStateSyncConnection::isCongested()
{
    if (m_conflation.isActive())
        return true;
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (m_gone || limit <= 0)
        return false;
    const qint64 pending = pendingOutput();
    if (pending <= limit)
        return false;
    m_conflation.start();
    quint64 heldBack = 0;
    if (m_congestionLog.allow(&heldBack, 10000)) {
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "client " << peerDescription() << " has " << pending
                << " bytes waiting, more than " << limit
                << ": conflating its updates until it catches up"
                << (heldBack ? QStringLiteral(" (%1 more times since the last line)").arg(heldBack)
                             : QString());
    }
    return true;
}

void QStateSyncConnection::conflateChange(const QJsonObject &patch, QStateSync::MergeMode mode,
                                          const QJsonValue &ownRequestId)
{
    // The patch's cap is the queue's limit: past it, a snapshot is likely no larger.
    m_conflation.addPatch(patch, mode, m_server->limits.maxPendingOutput);
    if (!ownRequestId.isUndefined()) {
        m_conflation.acknowledge(ownRequestId);
        chargeWhileCongested(QStateSyncProtocol::toJson(ownRequestId).size() + 1);
    }
}

void QStateSyncConnection::conflateKeys(const QJsonObject &changes, const QJsonValue &ownRequestId)
{
    m_conflation.addKeys(changes);
    if (!ownRequestId.isUndefined()) {
        m_conflation.acknowledge(ownRequestId);
        chargeWhileCongested(QStateSyncProtocol::toJson(ownRequestId).size() + 1);
    }
}

void QStateSyncConnection::conflatePresence()
{
    m_conflation.requireSnapshot();
}

void QStateSyncConnection::resynchronize(const QList<QJsonValue> &ownRequestIds)
{
    m_conflation.start();
    m_conflation.requireSnapshot();
    for (const QJsonValue &requestId : ownRequestIds)
        m_conflation.acknowledge(requestId);
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (limit <= 0 || pendingOutput() <= m_server->limits.pendingOutputLowWater())
        flushConflation();
}

void QStateSyncConnection::chargeWhileCongested(qint64 bytes)
{
    // Conflation bounds what the state sends; answers grow with the client's requests.
    // A client that keeps asking while it reads nothing would make them grow forever.
    m_owedWhileCongested += bytes;
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (m_dropping || limit <= 0 || m_owedWhileCongested <= limit)
        return;
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " does not read: " << m_owedWhileCongested
            << " bytes of answers wait behind a full queue; dropping it";
    // Dropped from the event loop, not from inside whatever is sending now.
    m_dropping = true;
    QMetaObject::invokeMethod(this, &QStateSyncConnection::drop, Qt::QueuedConnection);
}

void QStateSyncConnection::outputTaken(qint64 pending)
{
    if (m_gone)
        return;
    // Without a limit nothing is held back: what was conflated under one goes now.
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (limit > 0 && pending > m_server->limits.pendingOutputLowWater())
        return;
    m_owedWhileCongested = 0;
    if (m_conflation.isActive())
        flushConflation();
}

void QStateSyncConnection::flushConflation()
{
    const auto state = m_server->states.value(m_joinedState);
    if (!state) {
        m_conflation.clear();
        return;
    }
    const QByteArray message = m_conflation.message(*state, m_v2, m_v2 ? qint64(m_id) : -1);
    qCDebug(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " caught up: sending "
            << (m_conflation.needsSnapshot() ? "a snapshot" : "the changes it missed") << " ("
            << message.size() << " bytes) of state " << loggable(m_joinedState);
    m_conflation.clear();
    sendFrame(QStateSyncProtocol::textFrame(message));
}

void QStateSyncConnection::ping()
{
    if (!m_gone && !m_dropping)
        m_link->ping();
}

void QStateSyncConnection::dropForNotReading(qint64 pending)
{
    if (m_dropping || m_gone)
        return;
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " keeps sending but does not read: " << pending
            << " bytes wait for it; dropping it";
    m_dropping = true;
    QMetaObject::invokeMethod(this, &QStateSyncConnection::drop, Qt::QueuedConnection);
}

void QStateSyncConnection::drop()
{
    if (m_gone)
        return;
    ++m_server->counters.connectionsDropped;
    m_dropping = true;
    m_link->abort();
    // The link may or may not have told that it closed already.
    if (!m_gone)
        m_server->handleDisconnected(this);
}

void QStateSyncConnection::receive(const QByteArray &utf8)
{
    if (!m_gone && !m_dropping)
        m_server->handleMessage(this, utf8);
}

void QStateSyncConnection::receive(const QStateSyncProtocol::ClientMessage &message, qint64 size)
{
    if (!m_gone && !m_dropping)
        m_server->handleMessage(this, message, size);
}

void QStateSyncConnection::receiveBinary()
{
    if (!m_gone && !m_dropping)
        m_server->handleBinaryMessage(this);
}

void QStateSyncConnection::linkClosed(bool dropped)
{
    if (m_gone)
        return;
    if (dropped)
        ++m_server->counters.connectionsDropped;
    m_server->handleDisconnected(this);
}
