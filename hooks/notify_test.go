package hooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/wrapper"
)

func sampleTx() *Tx {
	lvl := 4
	return &Tx{ID: "20261121T194500Z-update", Home: "/opt/wso2am", Product: "apim", LevelBefore: &lvl,
		SnapshotID: "s1", FailedDir: "/state/failed/x",
		Boot: &BootRecord{State: wrapper.Failed, Summary: "process exited", Verdict: &wrapper.Verdict{SchemaVersion: 1, State: wrapper.Failed, Reason: "process exited"}}}
}

func TestNotifyCommandGetsEventOnStdin(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "event.json")
	n := &Notifier{Command: `cat > "` + out + `"; echo "$CARBONGUARD_EVENT" > "` + out + `.name"`}
	errs := n.Notify(context.Background(), eventFor(sampleTx(), "rolled-back", "rolled back"))
	require.Empty(t, errs)
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var ev map[string]any
	require.NoError(t, json.Unmarshal(data, &ev))
	assert.Equal(t, "rolled-back", ev["event"])
	assert.Equal(t, "20261121T194500Z-update", ev["tx"])
	verdict, _ := ev["verdict"].(map[string]any)
	assert.Equal(t, "failed", verdict["state"], "the wrapper's full verdict")
	assert.Equal(t, "process exited", verdict["reason"])
	name, _ := os.ReadFile(out + ".name")
	assert.Equal(t, "rolled-back\n", string(name))
}

func TestNotifyFailuresAreReportedNotFatal(t *testing.T) {
	t.Parallel()
	n := &Notifier{Command: "echo boom >&2; exit 7"}
	errs := n.Notify(context.Background(), eventFor(sampleTx(), "needs-attention", "x"))
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "boom")

	n = &Notifier{Command: "sleep 30", Timeout: 200 * time.Millisecond}
	start := time.Now()
	errs = n.Notify(context.Background(), eventFor(sampleTx(), "needs-attention", "x"))
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "did not finish within")
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestNotifyWebhook(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		body, _ := io.ReadAll(r.Body)
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		got <- ev
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n := &Notifier{Webhook: srv.URL}
	require.Empty(t, n.Notify(context.Background(), eventFor(sampleTx(), "needs-attention", "boot failed twice")))
	ev := <-got
	assert.Equal(t, "needs-attention", ev["event"])
	assert.Equal(t, "boot failed twice", ev["message"])

	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer bad.Close()
	errs := (&Notifier{Webhook: bad.URL}).Notify(context.Background(), eventFor(sampleTx(), "rolled-back", "x"))
	require.Len(t, errs, 1)
	assert.Contains(t, errs[0].Error(), "500")
}
