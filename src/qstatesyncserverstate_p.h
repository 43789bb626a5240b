// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSERVERSTATE_P_H
#define QSTATESYNCSERVERSTATE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncsharedstorage_p.h"
#include "qstatesyncstateoptions.h"
#include "qstatesyncupdaterequest.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qhash.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qtimer.h>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

class QStateSyncConnection;
struct QStateSyncStateBatch;

// The compact JSON size of a state's value, kept per top-level key so that a change costs
// the measure of the values it touches (an append only that of its items), never that
// of the whole value.
struct Q_STATESYNC_EXPORT QStateSyncValueSizes
{
    QHash<QString, qint64> perKey; // compact JSON bytes of each top-level value
    qint64 entries = 0; // the sum of "key":value over all keys, without commas

    void measure(const QJsonObject &value);
    // The size of value, as compact JSON, in bytes, when these are its sizes.
    qint64 total(const QJsonObject &value) const;

    // The size of QStateSyncProtocol::toJson(value), counted without encoding where that
    // is simple (printable ASCII strings, booleans, null, and objects and arrays of
    // them); numbers and other strings are encoded to be measured, so the count is
    // always exactly that of the encoding.
    static qint64 encodedSize(const QJsonValue &value);
    // "key": the key as a JSON string, and the colon.
    static qint64 keySize(const QString &key);
};

// A change merged and encoded ahead of its broadcast (on a state thread): the frames each
// flavour of client gets, those of its sender's acknowledgement, and the whole new values
// of the top-level keys it touched. An empty frame is made when a client needs it.
struct QStateSyncEncodedChange
{
    QJsonObject touchedValues;
    QByteArray v1Frame;
    QByteArray v2Frame;
    QByteArray acknowledgementFrame;
};

// A change waiting in a state's queue: an update or an append, from a client or from the
// server itself (sender is null then).
struct QStateSyncChange
{
    QStateSyncUpdateRequest::Kind kind = QStateSyncUpdateRequest::Update;
    QJsonObject changes;
    QPointer<QStateSyncConnection> sender;
    bool serverSide = false;
    QString clientIdentifier;
    QVariantMap clientInformation;
    QJsonValue requestId = QJsonValue(QJsonValue::Undefined);
};

// One state on the server: its value and version, the clients joined to it, its
// lifetime and its queue of changes.
class QStateSyncServerState
{
public:
    QStateSyncServerState(const QString &identifier, const QStateSyncStateOptions &options);
    ~QStateSyncServerState();
    Q_DISABLE_COPY_MOVE(QStateSyncServerState)

    QString identifier;
    QStateSyncStateOptions options;
    QJsonObject value;
    qint64 version = 0;
    QDateTime createdAt;
    QList<QStateSyncConnection *> clients;
    QPointer<QTimer> ttlTimer;
    qint64 ttlDeadline = 0; // milliseconds since the epoch; 0: no ttl

    // With a storage: brought back from it and not yet created again by the application
    // (createState() takes it over instead of failing). Until then no client may join it:
    // the rules that guard it are the application's code, and come with createState().
    bool restored = false;
    // Changes stored since the last snapshot of the whole value.
    int changesSinceSnapshot = 0;

    // With a storage that holds changes until they are stored: what clients have been
    // shown, while value and version are already ahead. Empty when nothing is held.
    struct Published
    {
        QJsonObject value;
        qint64 version = 0;
    };
    std::optional<Published> published;
    int heldChanges = 0;
    const QJsonObject &publishedValue() const { return published ? published->value : value; }
    qint64 publishedVersion() const { return published ? published->version : version; }

    // With a shared storage (a cluster), whose nodes apply the changes the storage
    // publishes, in its order:
    // following: this node hears the state's changes; synced: and the value and version
    // are current (until then, what it hears waits in early, and joins and changes wait).
    bool following = false;
    bool synced = false;
    struct Publication
    {
        qint64 firstVersion = 0;
        QList<QStateSyncSharedChange> changes;
        QString origin;
        quint64 token = 0;
    };
    std::vector<Publication> early;
    // Changes the hooks let through, waiting to be merged and submitted.
    std::deque<QStateSyncChange> outgoing;
    // The batch submitted and not yet heard back (when its answer is lost, the next read
    // of the state tells whether it was applied).
    struct InFlight
    {
        quint64 token = 0;
        std::vector<QStateSyncChange> changes;
    };
    std::optional<InFlight> inFlight;
    // After a conflict: the version the state must reach before the next batch.
    qint64 awaitedVersion = 0;
    // Connections whose join waits for the state to be synced.
    QList<QPointer<QStateSyncConnection>> waitingJoins;
    // Replaces the value, as read from the shared storage.
    void replaceValue(const QJsonObject &newValue);

    // Applies an update (merged with the state's mode) or an append to the value, unless
    // it would make the value's compact JSON larger than maxSize bytes (0: no limit) and
    // larger than it is now. Nothing changes unless Applied is returned; *failedKey names
    // the key of a NotAnArray.
    enum class ApplyResult { Applied, NotAnArray, TooLarge };
    ApplyResult apply(QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes,
                      qint64 maxSize, QString *failedKey);
    // The same on any value and its sizes, in any thread.
    static ApplyResult apply(QJsonObject &value, QStateSyncValueSizes &sizes,
                             QStateSync::MergeMode mode, QStateSyncUpdateRequest::Kind kind,
                             const QJsonObject &changes, qint64 maxSize, QString *failedKey);
    // The size of the value as compact JSON, in bytes.
    qint64 size() const;
    const QStateSyncValueSizes &valueSizes() const { return m_sizes; }
    // Takes a value merged elsewhere (on a state thread) with its sizes and version.
    void adoptValue(const QJsonObject &newValue, const QStateSyncValueSizes &sizes,
                    qint64 newVersion);
    // Replaces the value and the version (a state brought back from storage, or changes
    // taken back).
    void resetValue(const QJsonObject &newValue, qint64 newVersion);

    std::deque<QStateSyncChange> queue;
    QPointer<QStateSyncUpdateRequest> waitingFor;
    bool processing = false;
    bool removed = false;

    // With state threads (QStateSyncer::stateThreads): the changes that passed the hooks
    // wait in threadQueue for the state's next batch, which is merged and encoded on the
    // state's thread, on a copy of the value, while threadBatch holds the changes of the
    // batch running there. Its result is applied and broadcast on the server's thread.
    std::deque<QStateSyncChange> threadQueue;
    std::vector<QStateSyncChange> threadBatch;
    std::shared_ptr<QStateSyncStateBatch> runningBatch;
    bool batchRunning = false;
    bool batchScheduled = false;
    // A batch's changes are being broadcast and signalled: what a handler changes now
    // comes after them.
    bool committing = false;
    int stateThread = -1;
    bool hasThreadWork() const { return batchRunning || committing || !threadQueue.empty(); }
    bool hasInterceptor() const
    {
        return options.interceptStateUpdate() || options.interceptStateAppend();
    }

    // Sends a change to every joined client; valueAfter and versionAfter are the state's
    // value and version right after it. v2 clients get changes as they are, v1 clients the
    // whole new value of each top-level key it touched. Each flavour is encoded and framed once; only the
    // sender's acknowledgement, which carries its request id, is encoded apart. A client
    // whose output is congested gets the change folded into what it will be sent later.
    void broadcast(QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes,
                   const QJsonObject &valueAfter, qint64 versionAfter,
                   const QStateSyncConnection *sender, const QJsonValue &requestId) const;
    // The same for a change encoded ahead (whose touchedValues are set).
    void broadcast(QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes,
                   const QStateSyncEncodedChange &encoded, qint64 versionAfter,
                   const QStateSyncConnection *sender, const QJsonValue &requestId) const;

    // The presence entries of the joined clients, in the order they joined.
    QJsonArray presence() const;
    // Tells every v2 client but except about a presence event, encoded once. A congested
    // client will get a snapshot, which has the presence, instead.
    void broadcastPresence(const char *event, const QJsonObject &entry,
                           const QStateSyncConnection *except = nullptr) const;

private:
    void broadcast(QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes,
                   const QJsonObject *valueAfter, QStateSyncEncodedChange &encoded,
                   qint64 versionAfter, const QStateSyncConnection *sender,
                   const QJsonValue &requestId) const;
    QStateSyncValueSizes m_sizes;
};

#endif // QSTATESYNCSERVERSTATE_P_H
