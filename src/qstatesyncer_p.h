// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCER_P_H
#define QSTATESYNCER_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncer.h"
#include "qstatesynclimits_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncserverstate_p.h"
#include "qstatesynctransport_p.h"

#include <QtCore/qhash.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>

#include <deque>
#include <memory>

class QStateSyncConnection;
class QStateSyncIoHub;
class QStateSyncStateThreads;
struct QStateSyncStateBatch;
class QStateSyncLink;
class QStateSyncStorage;
class QStateSyncStoragePrivate;
class QStateSyncSharedStorage;
struct QStateSyncStoredState;

class QStateSyncerPrivate
{
public:
    explicit QStateSyncerPrivate(QStateSyncer *q);
    ~QStateSyncerPrivate();

    // From QStateSyncConnection.
    void handleMessage(QStateSyncConnection *connection, const QByteArray &utf8);
    void handleMessage(QStateSyncConnection *connection,
                       const QStateSyncProtocol::ClientMessage &message, qint64 size);
    void handleBinaryMessage(QStateSyncConnection *connection);
    void handleDisconnected(QStateSyncConnection *connection);

    // From the public API.
    QString createState(const QStateSyncStateOptions &options);
    bool removeState(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    // Removes the state from this server only (in a cluster: another node removed it).
    bool removeStateHere(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    bool submitServerChange(const QString &stateIdentifier, QStateSyncUpdateRequest::Kind kind,
                            const QJsonObject &changes, const QVariantMap &clientInformation);
    // Storage (qstatesyncerstorage.cpp).
    bool setStorage(QStateSyncStorage *newStorage);
    void detachStorage();
    QStateSyncStoragePrivate *storageBackend() const;
    bool storageHoldsChanges() const;
    // Stores an applied change (value and version already updated). True when the storage
    // holds it: its echo, broadcast and signal come once it is stored.
    bool storeChange(QStateSyncServerState &state, const QStateSyncChange &change,
                     const QJsonObject &notified);
    void storeState(const QStateSyncServerState &state);
    // What a storage keeps of a state.
    static QStateSyncStoredState storedForm(const QStateSyncServerState &state);
    void releaseChanges(quint64 storedSequence);
    // The changes still held once the storage closed were not stored: their senders are
    // told, and each state goes back to what its clients were shown.
    void failHeldChanges();
    // False, with the sender told (storage_failed), while the storage cannot take more.
    bool storageAccepts(const QStateSyncServerState &state, const QStateSyncChange &change);
    void restoreState(const QStateSyncStoredState &stored);
    // Cluster (qstatesyncercluster.cpp): with a shared storage, the nodes apply the changes
    // it publishes, in its order.
    QStateSyncSharedStorage *sharedStorage() const;
    // Detaching a shared storage: its callbacks end (unless it is gone already), batches
    // in flight go back to wait.
    void releaseShared(QStateSyncSharedStorage *shared);
    // Then (or once it is destroyed) what waited for the cluster goes on in memory.
    void resumeReleasedStates();
    void attachShared(QStateSyncSharedStorage *shared);
    // Starts following the state; joins and changes wait until it is synced.
    void followState(QStateSyncServerState &state);
    // Stops following a state this node no longer needs.
    void unfollowIfIdle(QStateSyncServerState &state);
    // Merges what waits in outgoing on the current value and submits it as one batch.
    void submitOutgoing(QStateSyncServerState &state);
    void sharedSynced(const QStateSyncStoredState &stored, bool found, quint64 lastToken);
    void sharedPublished(const QString &identifier, qint64 firstVersion,
                         const QList<QStateSyncSharedChange> &changes, const QString &origin,
                         quint64 token);
    void sharedSubmitted(const QString &identifier, quint64 token,
                         QStateSyncSharedStorage::SubmitResult result, qint64 currentVersion);
    bool createSharedState(QStateSyncServerState &state, QStateSyncSharedStorage *shared);
    // The batch in flight goes back, in order, before what waits to be merged.
    static void requeueInFlight(QStateSyncServerState &state);
    // Joins that waited for the state go on, each as if it came now.
    void resumeWaitingJoins(QStateSyncServerState &state);
    // The changes of a state waiting for the cluster: queued, merged or sent. Past the
    // most, new ones are refused with storage_failed.
    // The cluster did not remove the state: a ttl tries again (after reading the deadline,
    // when Redis has a later one); returns false.
    bool clusterRemovalFailed(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    static qsizetype clusterBacklog(const QStateSyncServerState &state);
    static constexpr qsizetype MostChangesWaitingForCluster = 10000;
    // Clients joined to a state that can self-destruct, on every node; -1: unknown.
    int countClusterClients(QStateSyncServerState &state);
    // (Re)starts the timer that removes the state at its ttl deadline.
    void startTtl(const std::shared_ptr<QStateSyncServerState> &state);

    // State threads (qstatesyncerthreads.cpp): the changes of states without hooks are
    // merged and encoded there, one batch per state at a time.
    int stateThreads = defaultStateThreads();
    std::unique_ptr<QStateSyncStateThreads> stateWorkers;
    unsigned nextStateThread = 0;
    std::vector<std::weak_ptr<QStateSyncServerState>> batchesToSubmit;
    bool batchSubmitPosted = false;
    static int defaultStateThreads();
    // Whether the state's changes go to a state thread once the hooks let them through:
    // with state threads, no shared storage and no storage that holds changes, when
    // nothing hooks the changes of the state; and always while some of them are there.
    bool usesStateThreads(const QStateSyncServerState &state) const;
    // Whether the hooks wait for the state's batches to end (they see the current value).
    bool hooksWaitForStateThread(const QStateSyncServerState &state) const;
    void queueForStateThread(QStateSyncServerState &state, const QStateSyncChange &change);
    // Waits for the state's batches and applies them, and those of the changes waiting
    // for one, now: a server-side change is applied within the call that makes it.
    void finishThreadWork(QStateSyncServerState &state);
    void submitScheduledBatches();
    void submitBatch(const std::shared_ptr<QStateSyncServerState> &state);
    // Takes the batch: what the state no longer needs is freed on a state thread.
    void commitBatch(std::shared_ptr<QStateSyncStateBatch> batch,
                     const std::weak_ptr<QStateSyncServerState> &weak);
    // Stores a change applied on a state thread; the snapshot, when one is due, comes with
    // snapshotIfDue() at the end of the batch.
    void storeBatchChange(QStateSyncServerState &state, qint64 version,
                          const QStateSyncChange &change);
    void snapshotIfDue(QStateSyncServerState &state);

    // Starts, restarts or stops the heartbeat after its interval changed.
    void restartHeartbeat();
    // Before listening: the I/O threads as ioThreads asks, if they can change now.
    void prepareIo();
    // Tells the I/O threads the limits they apply, after one changed.
    void syncIoSettings();

    QStateSyncer *const q;
    QStateSyncTransport *transport;
    QHash<QString, std::shared_ptr<QStateSyncServerState>> states;
    QList<QStateSyncConnection *> connections;
    QStateSyncer::AuthorizationMiddleware middleware;
    QMetaObject::Connection middlewareConnection;
    int maxNestingDepth = 64;
    QStateSyncServerLimits limits;
    // The threads that serve plain connections; none: the server's own thread does.
    int ioThreads = defaultIoThreads();
    QStateSyncIoHub *ioHub = nullptr;
    static int defaultIoThreads();
    // The number in the environment variable (clamped to 0 to 64), or fallback.
    static int threadsFromEnvironment(const char *variable, int fallback);
    // One timer pings every connection and drops those that did not answer the last ping.
    QTimer *heartbeat = nullptr;
    quint64 nextConnectionId = 1;

    QPointer<QStateSyncStorage> storage;
    QMetaObject::Connection storageDestroyed;
    // Changes applied but held until the storage reports them stored, in order.
    struct HeldChange
    {
        quint64 sequence = 0;
        std::weak_ptr<QStateSyncServerState> state;
        QStateSyncChange change;
        QJsonObject notified;
        QJsonObject valueAfter;
        qint64 versionAfter = 0;
    };
    std::deque<HeldChange> heldChanges;
    QStateSyncLogThrottle storageRefusalLog;

    // Totals since the server was created, for monitoring.
    struct Counters
    {
        quint64 updatesApplied = 0;
        quint64 updatesRefused = 0;
        quint64 messagesReceived = 0;
        quint64 messagesRefused = 0;
        quint64 bytesReceived = 0;
        quint64 bytesSent = 0;
        quint64 connectionsDropped = 0;
    } counters;

private:
    void addConnection(std::unique_ptr<QStateSyncLink> link, const QStateSyncIdentity &identity);
    void addUpgradedConnection(int fd, const QByteArray &response, const QByteArray &early,
                               const QHostAddress &address, quint16 port, bool v2,
                               const QStateSyncIdentity &identity);
    void refuse(QStateSyncConnection *connection, const QStateSyncProtocol::ClientMessage &message);

public:
    void handleJoin(QStateSyncConnection *connection, const QString &stateIdentifier);
    void applyPublication(QStateSyncServerState &state,
                          const QStateSyncServerState::Publication &publication);

private:
    void finishJoin(QStateSyncConnection *connection, const QString &stateIdentifier,
                    QStateSyncJoinRequest *request);
    void sendStateNotFound(QStateSyncConnection *connection, const QString &stateIdentifier);
    // A join that the state's filter or the join hook refused; hookMessage is the hook's
    // own rejection message, if it gave one.
    void sendJoinRefused(QStateSyncConnection *connection, const QString &stateIdentifier,
                         const QString &hookMessage = QString());
    bool joinFits(QStateSyncConnection *connection, const QStateSyncServerState &state);
    void checkHeartbeats();
    void handleLeave(QStateSyncConnection *connection);
    void handlePresence(QStateSyncConnection *connection, const QJsonObject &presence);
    void depart(QStateSyncConnection *connection, bool askSelfDestruct);
    void handleChange(QStateSyncConnection *connection,
                      const QStateSyncProtocol::ClientMessage &message);
    bool withinUpdateRate(QStateSyncConnection *connection,
                          const QStateSyncProtocol::ClientMessage &message);

    // The per-state pipeline: intercept, ask the update hook, merge, broadcast, one change
    // at a time in arrival order.
    void processQueue(const std::shared_ptr<QStateSyncServerState> &state);
    bool runInterceptor(QStateSyncServerState &state, QStateSyncChange &change);
    void finishChange(const std::shared_ptr<QStateSyncServerState> &state, QStateSyncChange change,
                      QStateSyncUpdateRequest *request);

public:
    void applyChange(QStateSyncServerState &state, const QStateSyncChange &change);

private:
    // Applies the change to state (within the size limit), or tells its sender why not.
    bool applyOrRefuse(QStateSyncServerState &state, const QStateSyncChange &change);
    // True when result is Applied; otherwise tells the change's sender why not.
    bool refuseUnless(QStateSyncServerState::ApplyResult result, const QStateSyncChange &change,
                      const QString &failedKey);
    void refuseTooDeep(const QStateSyncChange &change);
    void refuseChange(const QStateSyncChange &change, QStateSync::Error error,
                      const QString &message);

    bool hasJoinHandler() const;
    bool hasUpdateHandler() const;
};

#endif // QSTATESYNCER_P_H
