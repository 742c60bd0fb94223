package pack

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyJDBC(t *testing.T) {
	home := "/opt/wso2am-4.2.0"
	tests := []struct{ url, want string }{
		{"jdbc:h2:./repository/database/WSO2AM_DB;AUTO_SERVER=TRUE", DataInPack},
		{"jdbc:h2:repository/database/WSO2CARBON_DB", DataInPack},
		{"jdbc:h2:../tmpStatDB/WSO2AM_STATS_DB", DataInPack},
		{"jdbc:h2:${carbon.home}/repository/database/X", DataInPack},
		{"jdbc:h2:/opt/wso2am-4.2.0/repository/database/X", DataInPack},
		{"jdbc:h2:file:/opt/wso2am-4.2.0/repository/database/X", DataInPack},
		{"jdbc:h2:mem:test", DataInPack},
		{"JDBC:H2:./x", DataInPack},
		{"jdbc:h2:/var/lib/wso2/WSO2AM_DB", DataExternal},
		{"jdbc:h2:~/WSO2AM_DB", DataExternal},
		{"jdbc:h2:tcp://db.example.com/~/WSO2AM_DB", DataExternal},
		{"jdbc:h2:ssl://db/x", DataExternal},
		{"jdbc:mysql://db.prod:3306/apim_db?useSSL=true", DataExternal},
		{"jdbc:postgresql://10.0.0.5/apim", DataExternal},
		{"jdbc:oracle:thin:@db:1521/ORCL", DataExternal},
		{"jdbc:sqlserver://db;databaseName=x", DataExternal},
	}
	for _, tt := range tests {
		got, why := ClassifyJDBC(tt.url, home)
		assert.Equal(t, tt.want, got, "%s: %s", tt.url, why)
		assert.NotEmpty(t, why)
	}
}

func TestDatasources(t *testing.T) {
	t.Run("stock APIM 4.2: all in the pack", func(t *testing.T) {
		p, err := Open(fixture("apim-4.2"))
		require.NoError(t, err)
		dss, err := p.Datasources()
		require.NoError(t, err)
		names := map[string]Datasource{}
		for _, d := range dss {
			names[d.Name] = d
			assert.Equal(t, DataInPack, d.Data, "%s: %s", d.What, d.Why)
		}
		require.Contains(t, names, "apim_db")
		require.Contains(t, names, "shared_db")
		assert.Equal(t, "database.apim_db.url", names["apim_db"].Key)
		assert.Equal(t, "[database.apim_db]", names["apim_db"].What)
		assert.Positive(t, names["apim_db"].URL.Pos.Line)
	})
	t.Run("external, run-time and [[datasource]]", func(t *testing.T) {
		home := tomlPack(t, `[database.apim_db]
type = "mysql"
url = "jdbc:mysql://db.prod:3306/apim_db"
username = "apim"
password = "$secret{db}"

[database.shared_db]
url = "$env{SHARED_DB_URL}"

[database.local]
url = "jdbc:h2:./repository/database/WSO2CARBON_DB;DB_CLOSE_ON_EXIT=FALSE"

[[datasource]]
id = "WSO2_ANALYTICS"
url = "jdbc:postgresql://analytics/db"

[[datasource]]
id = "LOCAL_CACHE"
url = "jdbc:h2:mem:cache"
`)
		p, err := Open(home)
		require.NoError(t, err)
		dss, err := p.Datasources()
		require.NoError(t, err)
		got := map[string]string{}
		for _, d := range dss {
			got[d.Name] = d.Data
		}
		assert.Equal(t, DataExternal, got["apim_db"])
		assert.Equal(t, DataUnknown, got["shared_db"])
		assert.Equal(t, DataInPack, got["local"])
		assert.Equal(t, DataExternal, got["WSO2_ANALYTICS"])
		assert.Equal(t, DataInPack, got["LOCAL_CACHE"])
	})
	t.Run("Carbon 4.4 master-datasources.xml", func(t *testing.T) {
		p, err := Open(fixture("carbon-4.4"))
		require.NoError(t, err)
		dss, err := p.Datasources()
		require.NoError(t, err)
		require.NotEmpty(t, dss)
		for _, d := range dss {
			assert.Equal(t, DataInPack, d.Data, "%s: %s", d.What, d.Why)
			assert.Contains(t, d.What, "master-datasources.xml")
			assert.Positive(t, d.URL.Pos.Line, d.Name)
		}
	})
}
