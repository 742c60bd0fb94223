package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/internal/secrets"
)

// Notifier tells someone that an update was rolled back or needs a person:
// a command run with the event as JSON on stdin, and/or a webhook POSTed
// the same JSON. Failing to notify is logged and never fails the operation
// that notifies: the rollback has happened either way.
type Notifier struct {
	Command string        // run with /bin/sh -c; "" = none
	Webhook string        // http(s) URL; "" = none
	Timeout time.Duration // for each; default 10s
	Log     zerolog.Logger
	Client  *http.Client // default: a client with Timeout
}

// NotifyEvent is what a notification carries.
type NotifyEvent struct {
	SchemaVersion int       `json:"schema_version"`
	Event         string    `json:"event"` // "rolled-back", "needs-attention" or "rehearsal-failed" (update --rehearse: the copy did not boot up; nothing changed)
	Time          time.Time `json:"time"`
	Host          string    `json:"host"`
	Home          string    `json:"home"`
	Product       string    `json:"product,omitempty"`
	ProductCode   string    `json:"product_code,omitempty"`
	TxID          string    `json:"tx"`
	LevelBefore   *int      `json:"level_before,omitempty"`
	LevelAfter    *int      `json:"level_after,omitempty"`
	SnapshotID    string    `json:"snapshot_id,omitempty"`
	FailedDir     string    `json:"failed_dir,omitempty"`
	Message       string    `json:"message"`
	Verdict       any       `json:"verdict,omitempty"`        // the failed first boot
	AfterRollback any       `json:"after_rollback,omitempty"` // the boot after the rollback
}

func eventFor(tx *Tx, event, message string) NotifyEvent {
	host, _ := os.Hostname()
	ev := NotifyEvent{
		SchemaVersion: 1, Event: event, Time: time.Now().UTC(), Host: host, Home: tx.Home,
		Product: tx.Product, ProductCode: tx.ProductCode, TxID: tx.ID,
		LevelBefore: tx.LevelBefore, LevelAfter: tx.LevelAfter, SnapshotID: tx.SnapshotID,
		FailedDir: tx.FailedDir, Message: message,
	}
	if tx.Boot != nil {
		ev.Verdict = verdictOf(tx.Boot)
	}
	if tx.AfterRollback != nil {
		ev.AfterRollback = verdictOf(tx.AfterRollback)
	}
	return ev
}

// verdictOf is the wrapper's verdict when it gave one, else the record.
func verdictOf(b *BootRecord) any {
	if b.Verdict != nil {
		return b.Verdict
	}
	return b
}

// Notify sends ev everywhere configured and returns what failed (already
// logged). A nil Notifier does nothing.
func (n *Notifier) Notify(ctx context.Context, ev NotifyEvent) []error {
	if n == nil || (n.Command == "" && n.Webhook == "") {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return []error{err}
	}
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var errs []error
	if n.Command != "" {
		if err := n.runCommand(ctx, body, ev, timeout); err != nil {
			n.Log.Warn().Err(err).Str("command", n.Command).Str("event", ev.Event).Msg("notification command failed")
			errs = append(errs, err)
		} else {
			n.Log.Info().Str("command", n.Command).Str("event", ev.Event).Msg("notification command ran")
		}
	}
	if n.Webhook != "" {
		if err := n.post(ctx, body, timeout); err != nil {
			n.Log.Warn().Err(err).Str("webhook", n.Webhook).Str("event", ev.Event).Msg("notification webhook failed")
			errs = append(errs, err)
		} else {
			n.Log.Info().Str("webhook", n.Webhook).Str("event", ev.Event).Msg("notification webhook answered")
		}
	}
	return errs
}

func (n *Notifier) runCommand(ctx context.Context, body []byte, ev NotifyEvent, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", n.Command)
	cmd.Stdin = bytes.NewReader(body)
	// The notification command needs none of carbonguard's own secrets.
	cmd.Env = append(secrets.Scrub(os.Environ()), "CARBONGUARD_EVENT="+ev.Event, "CARBONGUARD_TX="+ev.TxID, "CARBONGUARD_HOME="+ev.Home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("notify command did not finish within %s", timeout)
	}
	if err != nil {
		msg := bytes.TrimSpace(out.Bytes())
		if len(msg) > 512 {
			msg = msg[len(msg)-512:]
		}
		return fmt.Errorf("notify command: %w: %s", err, msg)
	}
	return nil
}

func (n *Notifier) post(ctx context.Context, body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.Webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify webhook %s: %w", n.Webhook, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "carbonguard")
	client := n.Client
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("notify webhook %s did not answer within %s", n.Webhook, timeout)
		}
		return fmt.Errorf("notify webhook %s: %w", n.Webhook, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify webhook %s answered %s", n.Webhook, resp.Status)
	}
	return nil
}
