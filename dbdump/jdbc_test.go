package dbdump

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseJDBC(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Conn
	}{
		{"jdbc:postgresql://db.example.com:5433/apim_db", Conn{Engine: PostgreSQL, Host: "db.example.com", Port: 5433, Database: "apim_db"}},
		{"jdbc:postgresql://db.example.com/apim_db?sslmode=require&amp;user=wso2&amp;password=s%3Acret", Conn{Engine: PostgreSQL, Host: "db.example.com", Port: 5432, Database: "apim_db", User: "wso2", Password: "s:cret"}},
		{"jdbc:postgresql://h1:5432,h2:5433/shared?targetServerType=primary", Conn{Engine: PostgreSQL, Host: "h1", Port: 5432, Database: "shared"}},
		{"jdbc:postgresql://[::1]:6543/x", Conn{Engine: PostgreSQL, Host: "::1", Port: 6543, Database: "x"}},
		{"jdbc:postgresql:wso2", Conn{Engine: PostgreSQL, Host: "localhost", Port: 5432, Database: "wso2"}},
		{"jdbc:mysql://mysql.local:3307/WSO2AM_DB?useSSL=false&amp;allowPublicKeyRetrieval=true", Conn{Engine: MySQL, Host: "mysql.local", Port: 3307, Database: "WSO2AM_DB"}},
		{"JDBC:MySQL://shared_db.mysql/WSO2_SHARED_DB", Conn{Engine: MySQL, Host: "shared_db.mysql", Port: 3306, Database: "WSO2_SHARED_DB"}},
		{"jdbc:mysql:loadbalance://a:3306,b:3306/am", Conn{Engine: MySQL, Host: "a", Port: 3306, Database: "am"}},
		{"jdbc:mysql://wso2:pw@a:3306/am", Conn{Engine: MySQL, Host: "a", Port: 3306, Database: "am", User: "wso2", Password: "pw"}},
		{"jdbc:mysql://address=(protocol=tcp)(host=10.0.0.5)(port=3310)/am", Conn{Engine: MySQL, Host: "10.0.0.5", Port: 3310, Database: "am"}},
		{"jdbc:mariadb:failover://m1:3306,m2:3306/apim?user=x", Conn{Engine: MariaDB, Host: "m1", Port: 3306, Database: "apim", User: "x"}},
		{"jdbc:mariadb://m1/apim;sessionVariables=x", Conn{Engine: MariaDB, Host: "m1", Port: 3306, Database: "apim"}},
		{"jdbc:oracle:thin:@db:1521/ORCL", Conn{Engine: Oracle}},
		{"jdbc:sqlserver://db:1433;databaseName=x", Conn{Engine: MSSQL}},
		{"jdbc:db2://db:50000/x", Conn{Engine: DB2}},
		{"jdbc:h2:./repository/database/WSO2AM_DB;DB_CLOSE_ON_EXIT=FALSE", Conn{Engine: H2}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseJDBC(tc.url)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want.Password, got.Password)
		})
	}
	for _, bad := range []string{"postgresql://x/y", "jdbc:sybase://x/y", "jdbc:mysql://h:port/x", "jdbc:postgresql://[::1/x"} {
		_, err := ParseJDBC(bad)
		assert.Error(t, err, bad)
	}
}

func TestRedactURL(t *testing.T) {
	assert.Equal(t, "jdbc:mysql://wso2:***@a:3306/am", redactURL("jdbc:mysql://wso2:pw@a:3306/am"))
	assert.Equal(t, "jdbc:postgresql://h/db?user=u&password=***&ssl=true", redactURL("jdbc:postgresql://h/db?user=u&password=s3&ssl=true"))
	_, err := ParseJDBC("jdbc:sybase://u:topsecret@x/y?password=topsecret")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "topsecret")
}

func TestConnString(t *testing.T) {
	c := Conn{Engine: PostgreSQL, Host: "::1", Port: 5432, Database: "am", User: "wso2", Password: "secret"}
	assert.Equal(t, "postgresql wso2@[::1]:5432/am", c.String())
	assert.NotContains(t, c.String(), "secret")
}
