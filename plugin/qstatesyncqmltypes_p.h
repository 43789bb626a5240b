// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCQMLTYPES_P_H
#define QSTATESYNCQMLTYPES_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It registers the library's classes with
// QML; the library itself does not depend on the QML module.
//

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncClient>
#include <QStateSyncHttpRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncNamespace>
#include <QStateSyncPresenceModel>
#include <QStateSyncRedisStorage>
#include <QStateSyncSqliteStorage>
#include <QStateSyncStorage>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtQml/qqml.h>

struct QStateSyncClientForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncClient)
    QML_NAMED_ELEMENT(StateSyncClient)
};

namespace QStateSyncForeign {
Q_NAMESPACE
QML_FOREIGN_NAMESPACE(QStateSync)
QML_NAMED_ELEMENT(StateSync)
} // namespace QStateSyncForeign

struct QStateSyncPresenceModelForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncPresenceModel)
    QML_NAMED_ELEMENT(StateSyncPresenceModel)
    QML_UNCREATABLE("Use StateSyncClient.presence")
};

struct QStateSyncRequestForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncRequest)
    QML_NAMED_ELEMENT(StateSyncRequest)
    QML_UNCREATABLE("Requests come with the hooks of StateSyncer")
};

struct QStateSyncAuthorizationRequestForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncAuthorizationRequest)
    QML_NAMED_ELEMENT(StateSyncAuthorizationRequest)
    QML_UNCREATABLE("Requests come with the hooks of StateSyncer")
};

struct QStateSyncJoinRequestForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncJoinRequest)
    QML_NAMED_ELEMENT(StateSyncJoinRequest)
    QML_UNCREATABLE("Requests come with the hooks of StateSyncer")
};

struct QStateSyncUpdateRequestForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncUpdateRequest)
    QML_NAMED_ELEMENT(StateSyncUpdateRequest)
    QML_UNCREATABLE("Requests come with the hooks of StateSyncer")
};

struct QStateSyncHttpRequestForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncHttpRequest)
    QML_NAMED_ELEMENT(StateSyncHttpRequest)
    QML_UNCREATABLE("Requests come with the httpRequested hook of StateSyncer")
};

struct QStateSyncStorageForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncStorage)
    QML_NAMED_ELEMENT(StateSyncStorage)
    QML_UNCREATABLE("Use a storage such as StateSyncSqliteStorage")
};

struct QStateSyncSqliteStorageForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncSqliteStorage)
    QML_NAMED_ELEMENT(StateSyncSqliteStorage)
};

struct QStateSyncRedisStorageForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncRedisStorage)
    QML_NAMED_ELEMENT(StateSyncRedisStorage)
};

// What StateSyncer.syncer holds: the wrapped QStateSyncer, known to QML so that its
// properties can be set as grouped properties (syncer.maxClients: 50).
struct QStateSyncerForeign
{
    Q_GADGET
    QML_FOREIGN(QStateSyncer)
    QML_ANONYMOUS
};

#endif // QSTATESYNCQMLTYPES_P_H
