// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCNAMESPACE_H
#define QSTATESYNCNAMESPACE_H

#include "qstatesync_global.h"

#include <QtCore/qobject.h>
#include <QtCore/qstring.h>

namespace QStateSync {
Q_NAMESPACE_EXPORT(Q_STATESYNC_EXPORT)

enum class Error {
    NoError,
    InvalidJson,
    InvalidMessage,
    UnsupportedMessageType,
    MissingStateIdentifier,
    StateNotFound,
    JoinRefused,
    NotJoined,
    MissingUpdates,
    UpdateRefused,
    NestingTooDeep,
    MessageTooLarge,
    NotAnArray,
    StateRemoved,
    Unauthorized,
    ConnectionFailed,
    NotConnected,
    RateLimited,
    StateTooLarge,
    StateFull,
    ConnectionLost,
    QueueFull,
    StorageFailed,
    UnknownError
};
Q_ENUM_NS(Error)

enum class MergeMode { Deep, Shallow };
Q_ENUM_NS(MergeMode)

enum class RemovalReason { Removed, Ttl, SelfDestruct };
Q_ENUM_NS(RemovalReason)

Q_STATESYNC_EXPORT QString errorCode(Error error);
Q_STATESYNC_EXPORT Error errorFromCode(QStringView code);
Q_STATESYNC_EXPORT QString removalReasonName(RemovalReason reason);
Q_STATESYNC_EXPORT RemovalReason removalReasonFromName(QStringView name);

} // namespace QStateSync

#endif // QSTATESYNCNAMESPACE_H
