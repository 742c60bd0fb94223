package wrapper

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScriptArgs(t *testing.T) {
	t.Parallel()
	hv := []string{"-Dorg.opensaml.httpclient.https.disableHostnameVerification=false", "-Dhttpclient.hostnameVerifier=Strict"}
	tests := []struct {
		name    string
		o       Options
		want    []string
		wantErr string
	}{
		{name: "default: hostname verification on", want: hv},
		{name: "DefaultAndLocalhost", o: Options{HostnameVerifier: "DefaultAndLocalhost"},
			want: []string{hv[0], "-Dhttpclient.hostnameVerifier=DefaultAndLocalhost"}},
		{name: "AllowAll refused", o: Options{HostnameVerifier: "AllowAll"}, wantErr: "use Strict or DefaultAndLocalhost"},
		{name: "off", o: Options{NoHostnameVerification: true}, want: nil},
		{name: "off with a verifier is a contradiction", o: Options{NoHostnameVerification: true, HostnameVerifier: "Strict"}, wantErr: "verification is off"},
		{name: "everything, in order", o: Options{
			ProxyHost: "proxy.example.com", ProxyPort: 3128, Profile: "gateway-worker",
			Properties: map[string]string{"portOffset": "2", "b.prop": "x"},
			Args:       []string{"-DosgiConsole=19444"},
		}, want: append(append([]string(nil), hv...),
			"-Dhttp.proxyHost=proxy.example.com", "-Dhttp.proxyPort=3128",
			"-Dhttps.proxyHost=proxy.example.com", "-Dhttps.proxyPort=3128",
			"-Dprofile=gateway-worker", "-Db.prop=x", "-DportOffset=2", "-DosgiConsole=19444")},
		{name: "operator's property replaces the generated one", o: Options{Properties: map[string]string{"httpclient.hostnameVerifier": "DefaultAndLocalhost"}},
			want: []string{hv[0], "-Dhttpclient.hostnameVerifier=DefaultAndLocalhost"}},
		{name: "proxy without port", o: Options{ProxyHost: "p"}, wantErr: "set both a host and a port"},
		{name: "proxy with scheme", o: Options{ProxyHost: "http://p", ProxyPort: 80}, wantErr: "without scheme"},
		{name: "setup property refused", o: Options{Properties: map[string]string{"setup": "true"}}, wantErr: "-Dsetup cleans the registry"},
		{name: "setup arg refused", o: Options{Args: []string{"-Dsetup"}}, wantErr: "-Dsetup cleans the registry"},
		{name: "setup when asked", o: Options{NoHostnameVerification: true, Setup: true}, want: []string{"-Dsetup"}},
		{name: "whitespace in value", o: Options{Properties: map[string]string{"a": "b c"}}, wantErr: "property a: contains whitespace"},
		{name: "glob in value", o: Options{Properties: map[string]string{"a": "*.jar"}}, wantErr: "expand against file names"},
		{name: "bad key", o: Options{Properties: map[string]string{"a b": "c"}}, wantErr: `property name "a b"`},
		{name: "empty value", o: Options{Properties: map[string]string{"a": ""}}, wantErr: "empty value"},
		{name: "script command in args", o: Options{Args: []string{"--debug"}}, wantErr: "is a command of the stock script"},
		{name: "stop in args", o: Options{Args: []string{"stop"}}, wantErr: "is a command of the stock script"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ScriptArgs(tc.o)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
