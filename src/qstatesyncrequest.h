// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCREQUEST_H
#define QSTATESYNCREQUEST_H

#include "qstatesync_global.h"

#include <QtCore/qobject.h>

#include <memory>

class QStateSyncRequestPrivate;

class Q_STATESYNC_EXPORT QStateSyncRequest : public QObject
{
    Q_OBJECT
    Q_PROPERTY(Status status READ status NOTIFY statusChanged)
    Q_PROPERTY(bool answered READ isAnswered NOTIFY statusChanged)
    Q_PROPERTY(QString rejectionMessage READ rejectionMessage NOTIFY statusChanged)

public:
    enum Status { Pending, Deferred, Accepted, Rejected, Cancelled };
    Q_ENUM(Status)

    ~QStateSyncRequest() override;

    Status status() const;
    bool isAnswered() const;
    QString rejectionMessage() const;

public Q_SLOTS:
    void defer();
    void reject(const QString &message = QString());

Q_SIGNALS:
    void statusChanged();
    void finished();

protected:
    explicit QStateSyncRequest(QObject *parent);
    bool markAccepted();

private:
    friend class QStateSyncerPrivate;
    friend class QStateSyncTransport;
    void cancel();
    void setStatus(Status status);

    Q_DISABLE_COPY_MOVE(QStateSyncRequest)
    std::unique_ptr<QStateSyncRequestPrivate> const d;
};

#endif // QSTATESYNCREQUEST_H
