fixture
