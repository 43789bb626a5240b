// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSTATEOPTIONS_H
#define QSTATESYNCSTATEOPTIONS_H

#include "qstatesync_global.h"
#include "qstatesyncnamespace.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qshareddata.h>
#include <QtCore/qvariant.h>

#include <chrono>
#include <functional>
#include <optional>

class QStateSyncStateOptionsPrivate;

class Q_STATESYNC_EXPORT QStateSyncStateOptions
{
public:
    using JoinFilter = std::function<bool(const QVariantMap &clientInformation)>;
    using Interceptor = std::function<std::optional<QJsonObject>(
            const QJsonObject &changes, const QVariantMap &clientInformation)>;
    using SelfDestruct
            = std::function<bool(int numberOfClientsLeft, const QDateTime &timeOfCreation)>;

    QStateSyncStateOptions();
    QStateSyncStateOptions(const QStateSyncStateOptions &other);
    QStateSyncStateOptions(QStateSyncStateOptions &&other) noexcept;
    QStateSyncStateOptions &operator=(const QStateSyncStateOptions &other);
    QStateSyncStateOptions &operator=(QStateSyncStateOptions &&other) noexcept;
    ~QStateSyncStateOptions();

    void swap(QStateSyncStateOptions &other) noexcept { d.swap(other.d); }

    QString identifier() const;
    void setIdentifier(const QString &identifier);

    QJsonObject initialValue() const;
    void setInitialValue(const QJsonObject &value);
    void setInitialValue(const QVariantMap &value);

    std::chrono::milliseconds ttl() const;
    void setTtl(std::chrono::milliseconds ttl);

    QStateSync::MergeMode mergeMode() const;
    void setMergeMode(QStateSync::MergeMode mode);

    JoinFilter allowConnectingClient() const;
    void setAllowConnectingClient(const JoinFilter &filter);

    Interceptor interceptStateUpdate() const;
    void setInterceptStateUpdate(const Interceptor &interceptor);

    Interceptor interceptStateAppend() const;
    void setInterceptStateAppend(const Interceptor &interceptor);

    SelfDestruct selfDestruct() const;
    void setSelfDestruct(const SelfDestruct &selfDestruct);

private:
    QSharedDataPointer<QStateSyncStateOptionsPrivate> d;
};

Q_DECLARE_SHARED(QStateSyncStateOptions)

#endif // QSTATESYNCSTATEOPTIONS_H
