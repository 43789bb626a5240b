// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef SIGNALWATCHER_H
#define SIGNALWATCHER_H

#include <QtCore/qobject.h>

QT_BEGIN_NAMESPACE
    class QSocketNotifier;
QT_END_NAMESPACE

// Turns SIGINT and SIGTERM into a Qt signal, delivered by the event loop: a signal
// handler may only write to a pipe, the event loop reads it.
class SignalWatcher : public QObject
{
    Q_OBJECT

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

    bool isValid() const;

Q_SIGNALS:
    void terminationRequested(int signalNumber);

private:
    QSocketNotifier *m_notifier = nullptr;
};

#endif // SIGNALWATCHER_H
