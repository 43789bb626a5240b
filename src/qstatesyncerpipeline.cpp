// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// The per-state pipeline of QStateSyncerPrivate: a change enters the state's queue, goes
// through the interceptor and the update hook, is checked against the limits, merged and
// broadcast, one change at a time in arrival order.

#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"

using namespace QStateSyncProtocol;
using QStateSync::Error;

bool QStateSyncerPrivate::withinUpdateRate(QStateSyncConnection *connection,
                                           const ClientMessage &message)
{
    if (connection->updateTokens.take(limits.updateRate, limits.updateBurst))
        return true;
    ++counters.updatesRefused;
    // A client over its rate may send thousands of updates a second: one line per second
    // tells the operator as much.
    quint64 heldBack = 0;
    if (connection->rateLimitLog.allow(&heldBack)) {
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "refused a change from " << connection->peerDescription()
                << ": rate_limited: more than " << limits.updateRate << " per second"
                << (heldBack ? QStringLiteral(" (and %1 more since the last line)").arg(heldBack)
                             : QString());
    }
    connection->send(encodeError(
            MessageType::StateUpdateFailed, Error::RateLimited,
            QStringLiteral("Too many updates: at most %1 per second").arg(limits.updateRate),
            message.requestId));
    return false;
}

void QStateSyncerPrivate::handleChange(QStateSyncConnection *connection,
                                       const ClientMessage &message)
{
    if (!withinUpdateRate(connection, message))
        return;
    const auto state = states.value(connection->joinedState());
    if (!state) {
        qCInfo(lcStateSyncServer).noquote()
                << "client" << connection->peerDescription() << "sent an update without a state";
        connection->send(encodeError(MessageType::StateUpdateFailed, Error::NotJoined,
                                     QStringLiteral("Client is not connected to a state"),
                                     message.requestId));
        return;
    }
    QStateSyncChange change;
    change.kind = message.type == MessageType::AppendToState ? QStateSyncUpdateRequest::Append
                                                             : QStateSyncUpdateRequest::Update;
    change.changes
            = change.kind == QStateSyncUpdateRequest::Append ? message.appends : message.updates;
    change.sender = connection;
    change.clientIdentifier = connection->clientIdentifier();
    change.clientInformation = connection->clientInformation();
    change.requestId = message.requestId;
    // In a cluster, changes wait while the state is read: their number is bounded.
    if (sharedStorage() && !storageAccepts(*state, change))
        return;
    state->queue.push_back(std::move(change));
    processQueue(state);
}

bool QStateSyncerPrivate::submitServerChange(const QString &stateIdentifier,
                                             QStateSyncUpdateRequest::Kind kind,
                                             const QJsonObject &changes,
                                             const QVariantMap &clientInformation)
{
    const auto state = states.value(stateIdentifier);
    if (!state)
        return false;
    if (kind == QStateSyncUpdateRequest::Append) {
        for (const QJsonValue &items : changes) {
            if (!items.isArray()) {
                qCWarning(lcStateSyncServer) << "appendToState: every value must be an array";
                return false;
            }
        }
    }
    QStateSyncChange change;
    change.kind = kind;
    change.changes = changes;
    change.serverSide = true;
    change.clientInformation = clientInformation;
    if (sharedStorage() && !storageAccepts(*state, change))
        return false;
    state->queue.push_back(std::move(change));
    // The hooks would wait for the state's batches: they are applied now, so that the
    // change goes through the hooks within the call.
    if (hooksWaitForStateThread(*state) && !state->committing)
        finishThreadWork(*state);
    processQueue(state);
    return true;
}

void QStateSyncerPrivate::processQueue(const std::shared_ptr<QStateSyncServerState> &state)
{
    if (state->processing)
        return;
    if (sharedStorage() && !state->synced) {
        // In a cluster the hooks see the current value: changes wait until it is read.
        followState(*state);
        return;
    }
    state->processing = true;
    while (!state->removed && !state->waitingFor && !state->queue.empty()
           && !hooksWaitForStateThread(*state)) {
        QStateSyncChange change = std::move(state->queue.front());
        state->queue.pop_front();
        if (!runInterceptor(*state, change) || state->removed)
            continue;
        if (!hasUpdateHandler()) {
            applyChange(*state, change);
            continue;
        }
        auto *request = new QStateSyncUpdateRequest(state->identifier, change.clientIdentifier,
                                                    change.clientInformation, change.kind,
                                                    change.serverSide, change.changes, q);
        Q_EMIT q->updateRequested(request);
        if (state->removed) {
            // A handler removed the state: nothing of it is applied, answered or not.
            request->cancel();
            request->deleteLater();
            break;
        }
        if (request->status() == QStateSyncRequest::Pending)
            request->accept();
        if (request->isAnswered()) {
            finishChange(state, std::move(change), request);
            continue;
        }
        state->waitingFor = request;
        const std::weak_ptr<QStateSyncServerState> weakState = state;
        QObject::connect(request, &QStateSyncRequest::finished, q,
                         [this, weakState, change, request] {
                             const auto state = weakState.lock();
                             if (!state || state->waitingFor != request) {
                                 request->deleteLater();
                                 return;
                             }
                             state->waitingFor = nullptr;
                             finishChange(state, change, request);
                             processQueue(state);
                         });
    }
    state->processing = false;
}

bool QStateSyncerPrivate::runInterceptor(QStateSyncServerState &state, QStateSyncChange &change)
{
    const QStateSyncStateOptions::Interceptor interceptUpdate
            = state.options.interceptStateUpdate();
    if (change.kind == QStateSyncUpdateRequest::Update) {
        if (!interceptUpdate)
            return true;
        const std::optional<QJsonObject> result
                = interceptUpdate(change.changes, change.clientInformation);
        if (!result) {
            refuseChange(change, Error::UpdateRefused, QStringLiteral("The update was refused"));
            return false;
        }
        change.changes = *result;
        return true;
    }

    if (const auto interceptAppend = state.options.interceptStateAppend()) {
        const std::optional<QJsonObject> result
                = interceptAppend(change.changes, change.clientInformation);
        if (!result) {
            refuseChange(change, Error::UpdateRefused, QStringLiteral("The append was refused"));
            return false;
        }
        change.changes = *result;
        return true;
    }
    if (!interceptUpdate)
        return true;

    // Show the append to the update interceptor as a client of the original would have
    // sent it. The state applies one change at a time, so the arrays are current.
    QJsonObject whole = state.value;
    QString failedKey;
    if (!QStateSyncMerge::applyAppend(whole, change.changes, &failedKey)) {
        refuseChange(change, Error::NotAnArray,
                     QStringLiteral("%1 is not an array").arg(failedKey));
        return false;
    }
    const std::optional<QJsonObject> result = interceptUpdate(
            QStateSyncMerge::topLevelValues(whole, change.changes), change.clientInformation);
    if (!result) {
        refuseChange(change, Error::UpdateRefused, QStringLiteral("The append was refused"));
        return false;
    }
    change.kind = QStateSyncUpdateRequest::Update;
    change.changes = *result;
    return true;
}

void QStateSyncerPrivate::finishChange(const std::shared_ptr<QStateSyncServerState> &state,
                                       QStateSyncChange change, QStateSyncUpdateRequest *request)
{
    request->deleteLater();
    switch (request->status()) {
    case QStateSyncRequest::Accepted:
        change.changes = change.kind == QStateSyncUpdateRequest::Append ? request->appends()
                                                                        : request->updates();
        if (!state->removed)
            applyChange(*state, change);
        break;
    case QStateSyncRequest::Rejected:
        refuseChange(change, Error::UpdateRefused,
                     request->rejectionMessage().isEmpty()
                             ? QStringLiteral("The update was refused")
                             : request->rejectionMessage());
        break;
    default:
        break;
    }
}

void QStateSyncerPrivate::applyChange(QStateSyncServerState &state, const QStateSyncChange &change)
{
    // Hooks may have rewritten the change: hold it to the same depth rule as a message
    // (the message envelope takes two of the levels).
    if (QStateSyncMerge::depth(change.changes) > maxNestingDepth - 2) {
        refuseTooDeep(change);
        return;
    }
    if (!storageAccepts(state, change))
        return;
    if (usesStateThreads(state)) {
        if (!change.serverSide || state.committing) {
            queueForStateThread(state, change);
            return;
        }
        // A server-side change is applied within the call, after what came before it.
        finishThreadWork(state);
        if (state.removed)
            return;
    }
    if (sharedStorage()) {
        // Merged on the current value and applied by the shared storage, in its order.
        state.outgoing.push_back(change);
        submitOutgoing(state);
        return;
    }
    // Held until stored: clients go on seeing the value from before (a copy that shares
    // the data until the value changes).
    std::optional<QStateSyncServerState::Published> shown;
    if (storageHoldsChanges() && !state.published)
        shown = QStateSyncServerState::Published{state.value, state.version};
    if (!applyOrRefuse(state, change))
        return;
    if (shown)
        state.published = std::move(shown);
    const QJsonObject notified = change.kind == QStateSyncUpdateRequest::Append
            ? QStateSyncMerge::topLevelValues(state.value, change.changes)
            : change.changes;
    ++state.version;
    ++counters.updatesApplied;
    if (storeChange(state, change, notified))
        return; // shown once it is stored
    state.broadcast(change.kind, change.changes, state.value, state.version, change.sender,
                    change.requestId);
    Q_EMIT q->stateUpdated(state.identifier, notified, state.version);
}

void QStateSyncerPrivate::refuseTooDeep(const QStateSyncChange &change)
{
    refuseChange(change, Error::NestingTooDeep,
                 QStringLiteral("The update nests deeper than %1 levels").arg(maxNestingDepth - 2));
}

bool QStateSyncerPrivate::applyOrRefuse(QStateSyncServerState &state,
                                        const QStateSyncChange &change)
{
    QString failedKey;
    return refuseUnless(state.apply(change.kind, change.changes, limits.maxStateSize, &failedKey),
                        change, failedKey);
}

bool QStateSyncerPrivate::refuseUnless(QStateSyncServerState::ApplyResult result,
                                       const QStateSyncChange &change, const QString &failedKey)
{
    switch (result) {
    case QStateSyncServerState::ApplyResult::NotAnArray:
        refuseChange(change, Error::NotAnArray,
                     QStringLiteral("%1 is not an array").arg(failedKey));
        return false;
    case QStateSyncServerState::ApplyResult::TooLarge:
        refuseChange(change, Error::StateTooLarge,
                     QStringLiteral("The change would make the state larger than %1 bytes")
                             .arg(limits.maxStateSize));
        return false;
    case QStateSyncServerState::ApplyResult::Applied:
        break;
    }
    return true;
}

void QStateSyncerPrivate::refuseChange(const QStateSyncChange &change, Error error,
                                       const QString &message)
{
    ++counters.updatesRefused;
    if (!change.sender) {
        qCDebug(lcStateSyncServer).noquote()
                << "server-side change refused:" << QStateSync::errorCode(error)
                << loggable(message);
        return;
    }
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "refused a change from " << change.sender->peerDescription() << ": "
            << QStateSync::errorCode(error) << ": " << loggable(message);
    change.sender->send(
            encodeError(MessageType::StateUpdateFailed, error, message, change.requestId));
}
