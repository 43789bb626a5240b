// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSTORAGE_H
#define QSTATESYNCSTORAGE_H

#include "qstatesync_global.h"

#include <QtCore/qobject.h>

#include <memory>

class QStateSyncStoragePrivate;

class Q_STATESYNC_EXPORT QStateSyncStorage : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool attached READ isAttached NOTIFY attachedChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorOccurred)

public:
    ~QStateSyncStorage() override;

    bool isAttached() const;
    QString errorString() const;

Q_SIGNALS:
    void attachedChanged();
    void errorOccurred(const QString &message);

protected:
    QStateSyncStorage(std::unique_ptr<QStateSyncStoragePrivate> d, QObject *parent);
    std::unique_ptr<QStateSyncStoragePrivate> const d_ptr;

private:
    friend class QStateSyncStoragePrivate;
    friend class QStateSyncerPrivate;
    Q_DISABLE_COPY_MOVE(QStateSyncStorage)
};

#endif // QSTATESYNCSTORAGE_H
