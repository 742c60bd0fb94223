package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// carbonLog appends lines in WSO2's log4j2 layout `[%d] %5p {%c} - %m%ex%n`
// to wso2carbon.log and echoes them to stdout like the console appender.
type carbonLog struct {
	mu   sync.Mutex
	file *os.File
}

func openCarbonLog(path string) (*carbonLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &carbonLog{file: f}, nil
}

func (l *carbonLog) log(level, class, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	ts := time.Now().Format("2006-01-02 15:04:05,000")
	line := fmt.Sprintf("[%s] %5s {%s} - %s\n", ts, level, class, msg)
	l.mu.Lock()
	defer l.mu.Unlock()
	// One write per line so readers tailing the file never see half a line
	// from two goroutines interleaved.
	_, _ = l.file.WriteString(line)
	_, _ = os.Stdout.WriteString(line)
}

func (l *carbonLog) info(class, format string, args ...any) { l.log("INFO", class, format, args...) }
func (l *carbonLog) warn(class, format string, args ...any) { l.log("WARN", class, format, args...) }
func (l *carbonLog) error(class, format string, args ...any) {
	l.log("ERROR", class, format, args...)
}
func (l *carbonLog) fatal(class, format string, args ...any) {
	l.log("FATAL", class, format, args...)
}

// raw appends pre-formatted text (stack traces) after a log line.
func (l *carbonLog) raw(text string) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.file.WriteString(text)
	_, _ = os.Stdout.WriteString(text)
}

func (l *carbonLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.file.Sync()
	_ = l.file.Close()
}
